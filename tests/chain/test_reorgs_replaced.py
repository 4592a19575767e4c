"""A reorg that replaces a payment by a different transfer (D16, D20, D21, D36):
the same hash reverting in the new fork, another amount, another wallet, or the
wallet's speed-up (how: ``reorgs.py``)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from payments.proofs.services import proof_attach
from payments.proofs.services.rescans import rescan_args
from payments.proofs.tasks import rescan_request_task

from .conftest import PAYERS, event_types, mine
from .reorgs import (
    ATTACHED,
    CHAIN_ID,
    CONFIRMATIONS,
    MISMATCH,
    VERIFIED,
    check,
    reorg,
    scan,
    send,
    signed,
)

pytestmark = pytest.mark.chain


# -- 3. replaced by a different transfer ------------------------------------------


def test_same_hash_failing_in_the_new_fork_is_tx_failed(
    reorg_chain, anvil, w3, usdc, make_request
):
    pr = make_request(usdc_micro=7_300_001)
    payer = PAYERS[2]
    balance = usdc.functions.balanceOf(payer).call()
    # Nonce n: a harmless transfer; n + 1: the payment.
    harmless, _ = signed(w3, usdc, payer=payer, to=PAYERS[0], value=1)
    drain, _ = signed(w3, usdc, payer=payer, to=PAYERS[0], value=balance)
    raw, tx = signed(
        w3, usdc, payer=payer, to=pr.receiving_address, value=7_300_001, nonce_offset=1
    )
    send(w3, harmless)
    send(w3, raw)
    proof_attach(request=pr, chain_id=CHAIN_ID, tx_hash=tx, source="customer")
    assert check(pr).reason == "confirmations"

    # The new fork spends the whole balance with nonce n: the same payment
    # (same hash) now reverts.
    reorg(anvil, 2, [(drain, 0), (raw, 1)])
    assert w3.eth.get_transaction_receipt(tx).status == 0
    assert check(pr).reason == "confirmations"
    mine(anvil, CONFIRMATIONS)

    assert check(pr).reason == "tx_failed"
    pr.refresh_from_db()
    assert (pr.status, pr.proof_status) == ("requested", "mismatch")
    assert event_types(pr) == [ATTACHED, MISMATCH]


@pytest.mark.parametrize(
    "elsewhere", [False, True], ids=["other-amount", "other-wallet"]
)
def test_payment_replaced_by_another_transfer(
    reorg_chain, anvil, w3, usdc, make_request, elsewhere
):
    pr = make_request(usdc_micro=7_300_101)
    other = make_request(usdc_micro=7_300_202)
    raw, _ = signed(w3, usdc, payer=PAYERS[0], to=pr.receiving_address, value=7_300_101)
    send(w3, raw)
    assert scan(reorg_chain).attached == [str(pr.pk)]
    # The same nonce, another transfer: the other request's payment, or an
    # amount nobody asked for at this wallet.
    to, value = (
        (other.receiving_address, 7_300_202)
        if elsewhere
        else (pr.receiving_address, 7_300_100)
    )
    replacement, replacement_hash = signed(
        w3, usdc, payer=PAYERS[0], to=to, value=value, nonce_offset=-1
    )

    reorg(anvil, 1, [(replacement, 0)])
    assert w3.eth.get_transaction_receipt(replacement_hash).status == 1
    mine(anvil, CONFIRMATIONS)

    found = scan(reorg_chain)
    assert found.attached == ([str(other.pk)] if elsewhere else [])
    assert check(pr).reason == "no_receipt"
    late = timedelta(minutes=31)
    pr.refresh_from_db()
    assert check(pr, now=pr.proof_attached_at + late).reason == (
        "not_found_after_timeout"
    )
    pr.refresh_from_db()
    assert (pr.status, pr.proof_status) == ("requested", "mismatch")
    assert event_types(pr) == [ATTACHED, MISMATCH]
    other.refresh_from_db()
    if elsewhere:
        assert (other.status, other.tx_hash) == ("paid", replacement_hash)
        assert event_types(other) == [ATTACHED, VERIFIED]
    else:
        assert (other.proof_status, event_types(other)) == ("none", [])


def test_payment_replaced_by_a_speed_up_is_paid_after_the_timeout(
    reorg_chain, anvil, w3, usdc, make_request, django_capture_on_commit_callbacks
):
    pr = make_request(usdc_micro=7_300_301)
    raw, tx = signed(
        w3, usdc, payer=PAYERS[0], to=pr.receiving_address, value=7_300_301
    )
    send(w3, raw)
    assert scan(reorg_chain).attached == [str(pr.pk)]
    # The wallet's speed-up (same nonce, same transfer, another hash) wins
    # in the new fork.
    faster, faster_hash = signed(
        w3,
        usdc,
        payer=PAYERS[0],
        to=pr.receiving_address,
        value=7_300_301,
        nonce_offset=-1,
        bump=10**9,
    )
    assert faster_hash != tx
    reorg(anvil, 2, [(faster, 1)])
    mine(anvil, CONFIRMATIONS)

    # The watcher reads it but passes the request over: its proof is attached
    # (D16 has no attached → attached), and stays so until D20's timeout.
    assert scan(reorg_chain).attached == []
    assert check(pr).reason == "no_receipt"
    pr.refresh_from_db()
    with django_capture_on_commit_callbacks():
        timed_out = check(pr, now=pr.proof_attached_at + timedelta(minutes=31))
    assert timed_out.reason == "not_found_after_timeout"

    # The mismatch owes a rescan of the request's window (D20, D21): it
    # finds the speed-up and pays the request.
    assert rescan_request_task.apply(args=rescan_args(pr.pk, CHAIN_ID)).get() == (
        "verified"
    )
    pr.refresh_from_db()
    assert (pr.status, pr.tx_hash) == ("paid", faster_hash)
    assert event_types(pr) == [ATTACHED, MISMATCH, ATTACHED, VERIFIED]
