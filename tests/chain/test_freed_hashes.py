"""A hash that proved nothing must not hide a real payment (D15, D16, D20).

Three ways a payment the merchant received could stay unrecognised for good:
another merchant's payment pasted on this pay page, a transaction that was
still in the mempool when its proof timed out, and a second re-verify after
the grace.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from payments.chain.rescan import rescan_request_window
from payments.models import PaymentRequest, RequestRescan
from payments.proofs.services import proof_attach, proof_reverify, proof_verify

from .conftest import CHAIN_ID, PAYERS, mine, scan_local_chain, send_token

pytestmark = pytest.mark.chain


def test_another_merchants_payment_pasted_here_is_owed_to_its_request(
    refused_payment, django_capture_on_commit_callbacks
):
    # B (another merchant, another wallet) is paid exactly in tx; someone
    # pasted tx on A's pay page before the watcher saw it.
    a, b, tx = refused_payment

    with django_capture_on_commit_callbacks(execute=False):
        assert proof_verify(request_id=a.pk).reason == "wrong_recipient"

    assert RequestRescan.objects.filter(request=b).exists()
    assert rescan_request_window(request_id=b.pk, chain_id=CHAIN_ID).outcome == (
        "verified"
    )
    b.refresh_from_db()
    assert (b.status, b.proof_status, b.tx_hash) == ("paid", "verified", tx)


def test_a_mismatch_owes_a_rescan_only_to_the_exact_transfer_awaited(
    local_chain, w3, usdc, make_request, django_capture_on_commit_callbacks
):
    # The transaction pays B's wallet, not A's: A's mismatch owes a rescan to
    # the request awaiting exactly that transfer (B), and to no other.
    a = make_request(usdc_micro=5_000_005)
    b = make_request(usdc_micro=6_000_006)
    unrelated = make_request(
        usdc_micro=6_000_007, receiving_address=b.receiving_address
    )
    send = send_token(
        w3, usdc, payer=PAYERS[1], to=b.receiving_address, value=6_000_006
    )
    proof_attach(request=a, chain_id=CHAIN_ID, tx_hash=send, source="customer")
    with django_capture_on_commit_callbacks(execute=False):
        assert proof_verify(request_id=a.pk).reason == "wrong_recipient"
    owed = set(RequestRescan.objects.values_list("request_id", flat=True))
    assert b.pk in owed
    assert unrelated.pk not in owed  # another amount: not this transfer's


def test_a_hash_mined_after_its_not_found_timeout_still_pays(
    cursor_at_head, anvil, usdc, make_request, django_capture_on_commit_callbacks
):
    # The payer pasted the right hash while the transaction sat in the
    # mempool; it timed out (no receipt), then was mined inside the window.
    pr = make_request(usdc_micro=5_000_005, expires_in=timedelta(hours=2))
    anvil.rpc("evm_setAutomine", [False])
    try:
        raw = usdc.functions.transfer(pr.receiving_address, 5_000_005).transact(
            {"from": PAYERS[0]}
        )
        tx = "0x" + bytes(raw).hex()
        proof_attach(request=pr, chain_id=CHAIN_ID, tx_hash=tx, source="customer")
        pr.refresh_from_db()
        with django_capture_on_commit_callbacks(execute=True):
            result = proof_verify(
                request_id=pr.pk, now=pr.proof_attached_at + timedelta(minutes=31)
            )
        assert result.reason == "not_found_after_timeout"
        mine(anvil, 1)
    finally:
        anvil.rpc("evm_setAutomine", [True])

    with django_capture_on_commit_callbacks(execute=True):
        scan_local_chain()
        mine(anvil, 2)
        scan_local_chain()

    pr.refresh_from_db()
    assert (pr.proof_status, pr.tx_hash, pr.proof_source) == (
        "verified",
        tx,
        "trails_on_chain",
    )


def test_a_mismatch_attached_in_time_can_be_re_verified_more_than_once(
    local_chain, make_request
):
    # D16/D35: the window is judged at the first attach, so each re-verify
    # after the grace is accepted; the attach time is kept.
    now = timezone.now()
    attached_at = now - timedelta(hours=2, minutes=5)  # inside the grace
    pr = make_request(
        usdc_micro=6_000_006,
        status="expired",
        created_at=now - timedelta(hours=3),
        expires_at=now - timedelta(hours=2),
        proof_status="mismatch",
        mismatch_reason="not_found_after_timeout",
        chain_id=CHAIN_ID,
        tx_hash="0x" + "5e" * 32,
        proof_source="customer",
        proof_attached_at=attached_at,
    )
    for _ in range(2):
        pr = proof_reverify(request=PaymentRequest.objects.get(pk=pr.pk))
        # Never mined: judged again at once (its 30 minutes ran out long ago).
        assert (pr.proof_status, pr.mismatch_reason) == (
            "mismatch",
            "not_found_after_timeout",
        )
        assert pr.proof_attached_at == attached_at
