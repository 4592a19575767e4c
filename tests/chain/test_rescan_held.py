"""An owed rescan survives a proof that holds the request meanwhile (D16, D20, D21).

The watcher passes over a request whose proof is ``attached``; a mismatch owes
it a rescan from where the watcher stood. A customer may attach a hash again
right after a mismatch (D16), and another request may free a hash that was
this one's payment while this one's proof is attached. Neither may lose the
blocks the rescan still owed: the real payment there must still pay it.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from payments.models import PaymentRequest, RequestRescan
from payments.proofs.services import proof_attach, proof_verify
from payments.proofs.services.rescans import rescan_args
from payments.proofs.tasks import rescan_request_task

from .conftest import CHAIN_ID, PAYERS, mine, scan_local_chain, send_token

pytestmark = pytest.mark.chain

PR = PaymentRequest
RANDOM_HASH = "0x" + "6a" * 32  # nothing was mined under it


def _time_out(pr) -> None:
    """The attached random hash ends in not_found_after_timeout; owed rescans
    are written but their messages are not run here."""
    pr.refresh_from_db()
    result = proof_verify(
        request_id=pr.pk, now=pr.proof_attached_at + timedelta(minutes=31)
    )
    assert result.reason == "not_found_after_timeout"


def _run_owed_rescans(pr) -> None:
    for row in RequestRescan.objects.filter(request=pr):
        rescan_request_task.apply(args=rescan_args(pr.pk, row.chain_id)).get()


@pytest.fixture
def owed_a_rescan(local_chain, anvil, w3, usdc, make_request, capture):
    """A request whose payment the watcher passed over while a random hash held
    it; that hash has just mismatched, so a rescan is owed. Gives (request, tx)."""
    local_chain.last_scanned_block = w3.eth.block_number
    local_chain.save()
    pr = make_request(usdc_micro=8_100_001)
    with capture(execute=False):
        proof_attach(
            request=pr, chain_id=CHAIN_ID, tx_hash=RANDOM_HASH, source="customer"
        )
    real = send_token(
        w3, usdc, payer=PAYERS[0], to=pr.receiving_address, value=8_100_001
    )
    assert scan_local_chain().attached == []  # held by the random hash
    mine(anvil, 10)
    scan_local_chain()  # the watcher moves well past the payment
    with capture(execute=False):
        _time_out(pr)
    assert RequestRescan.objects.filter(request=pr).exists()
    return pr, real


@pytest.fixture
def capture(django_capture_on_commit_callbacks):
    return django_capture_on_commit_callbacks


def _paid_after_the_second_mismatch(pr, real, anvil, capture) -> None:
    mine(anvil, 10)
    scan_local_chain()
    with capture(execute=False):
        _time_out(pr)  # the second paste mismatches too: the row restarts
    with capture(execute=False):
        _run_owed_rescans(pr)
    pr.refresh_from_db()
    assert (pr.status, pr.proof_status, pr.tx_hash) == ("paid", "verified", real)


def test_a_hash_attached_again_before_the_rescan_ran_does_not_lose_it(
    owed_a_rescan, anvil, capture
):
    pr, real = owed_a_rescan
    # The customer pastes the same hash again at once (D16 allows it) ...
    with capture(execute=False):
        proof_attach(
            request=pr, chain_id=CHAIN_ID, tx_hash=RANDOM_HASH, source="customer"
        )
    # ... and the owed rescan's message arrives while it is attached.
    with capture(execute=False):
        _run_owed_rescans(pr)
    _paid_after_the_second_mismatch(pr, real, anvil, capture)


def test_a_hash_attached_again_while_the_rescan_reads_does_not_lose_it(
    monkeypatch, owed_a_rescan, anvil, capture
):
    # As above, but the paste lands while the owed rescan's run is reading the
    # window: the run passes the payment over (the request is held again). It
    # used to end "not_found" and delete the row; the paste's own mismatch
    # then owed a rescan only from the watcher's cursor, past the payment.
    from payments.chain import rescan

    pr, real = owed_a_rescan
    read_block_times = rescan.block_times

    def pasted_while_reading(*args, **kwargs):
        if PR.objects.get(pk=pr.pk).proof_status == PR.ProofStatus.MISMATCH:
            proof_attach(
                request=pr, chain_id=CHAIN_ID, tx_hash=RANDOM_HASH, source="customer"
            )
        return read_block_times(*args, **kwargs)

    monkeypatch.setattr(rescan, "block_times", pasted_while_reading)
    with capture(execute=False):
        outcome = rescan_request_task.apply(args=rescan_args(pr.pk, CHAIN_ID)).get()
    monkeypatch.undo()
    assert outcome == "held"
    assert RequestRescan.objects.filter(request=pr).exists()
    _paid_after_the_second_mismatch(pr, real, anvil, capture)


def test_a_payment_freed_by_another_request_while_this_one_is_held_is_found(
    local_chain, anvil, w3, usdc, make_request, django_capture_on_commit_callbacks
):
    # A and B share a wallet. A's payment is pasted on B's page before the
    # watcher sees it, so the watcher cannot give it to A; then a random hash
    # is pasted on A's page. B's mismatch frees the hash while A is held.
    local_chain.last_scanned_block = w3.eth.block_number
    local_chain.save()
    a = make_request(usdc_micro=9_000_009)
    b = make_request(usdc_micro=5_000_005, receiving_address=a.receiving_address)
    local_chain.confirmations = 3
    local_chain.save()
    tx = send_token(w3, usdc, payer=PAYERS[1], to=a.receiving_address, value=9_000_009)
    with django_capture_on_commit_callbacks(execute=False):
        proof_attach(request=b, chain_id=CHAIN_ID, tx_hash=tx, source="customer")
    assert scan_local_chain().attached == []  # refused to A: B holds the hash
    mine(anvil, 10)
    scan_local_chain()
    with django_capture_on_commit_callbacks(execute=False):
        proof_attach(
            request=a, chain_id=CHAIN_ID, tx_hash=RANDOM_HASH, source="customer"
        )

    with django_capture_on_commit_callbacks(execute=False):
        # D15: exactly A's amount, so it is A's payment, not B's overpayment.
        assert proof_verify(request_id=b.pk).reason == "wrong_recipient"
    with django_capture_on_commit_callbacks(execute=False):
        _run_owed_rescans(a)
    with django_capture_on_commit_callbacks(execute=False):
        _time_out(a)
    with django_capture_on_commit_callbacks(execute=False):
        _run_owed_rescans(a)

    a.refresh_from_db()
    assert (a.status, a.proof_status, a.tx_hash) == ("paid", "verified", tx)


def test_a_held_rescan_is_looked_at_again_later_and_dropped_once_paid(
    local_chain, w3, usdc, make_request, django_capture_on_commit_callbacks
):
    from payments.proofs.services.rescans import (
        HELD_RECHECK,
        RESUME_AFTER,
        rescans_resume,
    )

    pr = make_request(usdc_micro=8_200_002)
    with django_capture_on_commit_callbacks(execute=False):
        proof_attach(
            request=pr, chain_id=CHAIN_ID, tx_hash=RANDOM_HASH, source="customer"
        )
        _time_out(pr)
        real = send_token(
            w3, usdc, payer=PAYERS[2], to=pr.receiving_address, value=8_200_002
        )
        proof_attach(request=pr, chain_id=CHAIN_ID, tx_hash=real, source="customer")
        message = rescan_args(pr.pk, CHAIN_ID)
        assert rescan_request_task.apply(args=message).get() == "held"
    row = RequestRescan.objects.get(request=pr)
    assert (row.runs, row.locked_until) == (0, None)  # waiting is not failing
    # The beat leaves it alone for a while, then sends it again.
    assert rescans_resume(now=row.enqueued_at - HELD_RECHECK + RESUME_AFTER) == []
    assert rescans_resume(now=row.enqueued_at + RESUME_AFTER) == [
        (str(pr.pk), CHAIN_ID)
    ]
    with django_capture_on_commit_callbacks(execute=False):
        assert proof_verify(request_id=pr.pk).outcome == "verified"
        assert rescan_request_task.apply(args=message).get() == "skipped"
    assert not RequestRescan.objects.filter(request=pr).exists()
