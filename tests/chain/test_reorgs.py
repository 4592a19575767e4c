"""Chain reorganisations on a real anvil (D16, D20, D21, D23, D36): a payment
reorged out, re-included, reorged deeper than the confirmations, and the
watcher's cursor across a reorg (how: ``reorgs.py``)."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine

from payments.models import Chain, PaymentRequest
from payments.proofs.services.verify import NOT_FOUND_TIMEOUT
from payments.proofs.tasks import recheck_attached_proofs

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
    verified_events,
)

pytestmark = pytest.mark.chain

PR = PaymentRequest


# -- 1. reorged out before the confirmations ---------------------------------------


def test_watcher_found_payment_reorged_out_stays_attached_then_times_out(
    reorg_chain,
    anvil,
    w3,
    usdc,
    make_request,
    eager_celery,
    django_capture_on_commit_callbacks,
):
    pr = make_request(usdc_micro=7_100_001)
    raw, tx = signed(
        w3, usdc, payer=PAYERS[0], to=pr.receiving_address, value=7_100_001
    )
    send(w3, raw)

    found = scan(reorg_chain)
    assert (found.attached, found.verified) == ([str(pr.pk)], [])
    reorg(anvil, 2)  # the payment's block and the one after it: the tx is gone
    mine(anvil, 5)

    # D20: no receipt → stays attached and is re-checked, never a verdict yet.
    assert scan(reorg_chain).attached == []
    pending = check(pr)
    assert (pending.outcome, pending.reason) == ("pending", "no_receipt")
    pr.refresh_from_db()
    assert (pr.status, pr.proof_status, pr.tx_hash) == ("requested", "attached", tx)
    assert event_types(pr) == [ATTACHED]

    # D20, D36: no receipt 30 min after attaching → not_found_after_timeout,
    # from the beat's re-check of attached proofs.
    late = pr.proof_attached_at + NOT_FOUND_TIMEOUT + timedelta(seconds=1)
    with (
        time_machine.travel(late, tick=True),
        django_capture_on_commit_callbacks(execute=True),
    ):
        assert recheck_attached_proofs() == [str(pr.pk)]
    pr.refresh_from_db()
    assert (pr.status, pr.proof_status) == ("requested", "mismatch")
    assert pr.evidence is None
    assert event_types(pr) == [ATTACHED, MISMATCH]

    # The wallet broadcasts it again and it is mined in the window: the hash
    # judged nothing (no receipt), so the watcher attaches it once more and
    # pays the request (matching.already_judged).
    send(w3, raw)
    found = scan(reorg_chain)
    assert (found.attached, found.verified) == ([str(pr.pk)], [])
    mine(anvil, CONFIRMATIONS - 1)
    assert check(pr).outcome == "verified"
    pr.refresh_from_db()
    assert (pr.status, pr.tx_hash) == ("paid", tx)
    assert event_types(pr) == [ATTACHED, MISMATCH, ATTACHED, VERIFIED]


def test_pasted_hash_reorged_out_is_never_verified(
    reorg_chain, anvil, w3, usdc, make_request, client, api_test
):
    pr = make_request(usdc_micro=7_100_002)
    raw, tx = signed(
        w3, usdc, payer=PAYERS[1], to=pr.receiving_address, value=7_100_002
    )
    send(w3, raw)
    pasted = client.post(
        f"/pay/{pr.pk}/proof",
        {"tx_hash": tx, "chain_id": CHAIN_ID},
        content_type="application/json",
    )
    assert pasted.status_code == 202
    mine(anvil, 1)  # 2 of 3 confirmations
    pending = check(pr)
    assert (pending.outcome, pending.reason) == ("pending", "confirmations")

    reorg(anvil, 3)
    mine(anvil, CONFIRMATIONS)

    # D35: a re-verify now finds no receipt; the proof stays attached (D20).
    again = api_test.post(f"/api/v1/requests/{pr.pk}/reverify")
    assert again.status_code == 200
    body = again.json()
    assert (body["status"], body["proof_status"], body["tx_hash"]) == (
        "requested",
        "attached",
        tx,
    )
    assert check(pr).reason == "no_receipt"
    assert event_types(pr) == [ATTACHED]


# -- 2. re-included in a later block ---------------------------------------------


def test_reincluded_payment_is_verified_once_with_the_final_block(
    reorg_chain, anvil, w3, usdc, make_request
):
    pr = make_request(usdc_micro=7_200_001)
    raw, tx = signed(
        w3, usdc, payer=PAYERS[0], to=pr.receiving_address, value=7_200_001
    )
    first_block = send(w3, raw)
    assert scan(reorg_chain).attached == [str(pr.pk)]
    first = w3.eth.get_transaction_receipt(tx)
    mine(anvil, 1)
    # Another transfer to the wallet goes first in the new block, so the
    # payment's log index moves too.
    other, _ = signed(w3, usdc, payer=PAYERS[1], to=pr.receiving_address, value=5)

    reorg(anvil, 3, [(other, 2), (raw, 2)])

    final = w3.eth.get_transaction_receipt(tx)
    assert final.blockNumber == first_block + 1
    assert final.logs[0].logIndex != first.logs[0].logIndex
    assert check(pr).reason == "confirmations"
    assert scan(reorg_chain).attached == []  # the margin re-reads it: nothing twice
    mine(anvil, CONFIRMATIONS - 1)

    assert check(pr).outcome == "verified"
    assert scan(reorg_chain).attached == []
    assert check(pr).outcome == "skipped"
    pr.refresh_from_db()
    assert (pr.status, pr.proof_status) == ("paid", "verified")
    assert pr.evidence["block_number"] == final.blockNumber
    assert pr.evidence["block_hash"] == "0x" + bytes(final.blockHash).hex()
    assert pr.evidence["log_index"] == final.logs[0].logIndex
    # … the index eth_getLogs gives the same log in that block (D23: a partner
    # checks the evidence alone).
    (log,) = usdc.events.Transfer().get_logs(
        from_block=final.blockNumber,
        to_block=final.blockNumber,
        argument_filters={"value": 7_200_001},
    )
    assert (log.transactionHash, log.logIndex) == (
        final.transactionHash,
        pr.evidence["log_index"],
    )
    assert pr.evidence["confirmations"] == CONFIRMATIONS
    assert event_types(pr) == [ATTACHED, VERIFIED]
    (payload,) = verified_events(pr)
    assert (payload["block_number"], payload["log_index"]) == (
        final.blockNumber,
        final.logs[0].logIndex,
    )
    assert payload["block_hash"] == pr.evidence["block_hash"]


# -- 4. deeper than the confirmations, after the verdict ---------------------------


def test_reorg_deeper_than_the_confirmations_leaves_a_paid_request_paid(
    reorg_chain, anvil, w3, usdc, make_request
):
    pr = make_request(usdc_micro=7_400_001)
    raw, _ = signed(w3, usdc, payer=PAYERS[0], to=pr.receiving_address, value=7_400_001)
    send(w3, raw)
    scan(reorg_chain)
    mine(anvil, CONFIRMATIONS - 1)
    assert check(pr).outcome == "verified"
    pr.refresh_from_db()
    evidence = dict(pr.evidence)

    reorg(anvil, CONFIRMATIONS + 1)  # drops the verified payment
    mine(anvil, 2)

    # D16 has no way out of paid/verified: the confirmations (D36) are the
    # only guard. Nothing re-judges, nothing crashes, no event is taken back.
    assert scan(reorg_chain).attached == []
    assert check(pr).outcome == "skipped"
    pr.refresh_from_db()
    assert (pr.status, pr.proof_status, pr.evidence) == ("paid", "verified", evidence)
    assert event_types(pr) == [ATTACHED, VERIFIED]


# -- 5. the watcher's cursor across a reorg ---------------------------------------


@pytest.mark.parametrize("confirmations", [1, CONFIRMATIONS])
def test_blocks_already_scanned_replaced_by_a_payment_are_rescanned(
    reorg_chain, anvil, w3, usdc, make_request, confirmations
):
    # D36: on a local chain the margin is the confirmations, 1 at the least.
    Chain.objects.filter(pk=reorg_chain.pk).update(confirmations=confirmations)
    pr = make_request(usdc_micro=7_500_001)
    mine(anvil, 4)
    assert scan(reorg_chain).attached == []
    cursor = Chain.objects.get(pk=reorg_chain.pk).last_scanned_block
    assert cursor == w3.eth.block_number
    raw, tx = signed(
        w3, usdc, payer=PAYERS[1], to=pr.receiving_address, value=7_500_001
    )

    # Depth = the margin: the oldest block the margin re-reads gets the payment.
    reorg(anvil, confirmations, [(raw, 0)])
    assert w3.eth.get_transaction_receipt(tx).blockNumber == cursor - confirmations + 1

    # The oldest block re-read has exactly the confirmations: paid at once.
    found = scan(reorg_chain)
    assert (found.attached, found.verified) == ([str(pr.pk)], [str(pr.pk)])
    assert scan(reorg_chain).attached == []
    pr.refresh_from_db()
    assert (pr.status, pr.tx_hash) == ("paid", tx)
    assert event_types(pr) == [ATTACHED, VERIFIED]


def test_a_shorter_fork_with_a_payment_is_scanned(
    reorg_chain, anvil, w3, usdc, make_request
):
    pr = make_request(usdc_micro=7_500_002)
    mine(anvil, 4)
    scan(reorg_chain)
    cursor = Chain.objects.get(pk=reorg_chain.pk).last_scanned_block
    anvil.rpc("anvil_rollback", [CONFIRMATIONS])
    raw, tx = signed(
        w3, usdc, payer=PAYERS[1], to=pr.receiving_address, value=7_500_002
    )
    assert send(w3, raw) == cursor - CONFIRMATIONS + 1

    found = scan(reorg_chain)
    assert found.attached == [str(pr.pk)]
    assert PR.objects.get(pk=pr.pk).tx_hash == tx
    mine(anvil, CONFIRMATIONS)
    assert scan(reorg_chain).attached == []
    assert check(pr).outcome == "verified"
    assert event_types(pr) == [ATTACHED, VERIFIED]
