"""A payment the watcher (or a rescan) finds before its confirmations (D20, D21).

Every production chain asks 12 to 32 confirmations (D36), so the watcher
usually attaches a payment that is not final yet: its in-process check answers
pending. That check must schedule the next one at the pace it asked for, as a
check run by the task or a re-verify does; left to the beat's safety net
(every 30 s, for proofs 15 s overdue) each such payment was verified up to
45 s late, and its payment.proof_verified with it.
"""

from __future__ import annotations

import pytest

from payments.chain.rescan import rescan_request_window
from payments.models import PaymentRequest
from payments.proofs.tasks import verify_proof_task

from .conftest import CHAIN_ID, PAYERS, mine, scan_local_chain, send_token

pytestmark = pytest.mark.chain

PR = PaymentRequest


@pytest.fixture
def sent(monkeypatch):
    """(args, countdown) of every verify task sent."""
    calls: list[tuple[tuple, int | None]] = []

    def record(args, countdown=None, **kwargs):
        calls.append((tuple(args), countdown))

    monkeypatch.setattr(verify_proof_task, "apply_async", record)
    return calls


def test_a_found_payment_waiting_for_confirmations_is_checked_again_soon(
    cursor_at_head,
    anvil,
    w3,
    usdc,
    make_request,
    sent,
    django_capture_on_commit_callbacks,
):
    cursor_at_head.confirmations = 3
    cursor_at_head.save()
    pr = make_request(usdc_micro=8_300_007)
    send_token(w3, usdc, payer=PAYERS[0], to=pr.receiving_address, value=8_300_007)

    with django_capture_on_commit_callbacks(execute=True):
        result = scan_local_chain()

    assert result.attached == [str(pr.pk)]
    assert result.verified == []
    pr.refresh_from_db()
    assert pr.proof_status == "attached"
    # The next check, claimed by the due time the pending check wrote.
    assert sent == [((str(pr.pk), pr.next_verify_at.isoformat()), 1)]

    mine(anvil, 2)
    sent.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert verify_proof_task.run(*sent_args(pr)) == "verified"
    assert sent == []  # decided: nothing more to schedule


def test_a_payment_a_rescan_finds_before_its_confirmations_is_checked_again_soon(
    local_chain, w3, usdc, make_request, sent, django_capture_on_commit_callbacks
):
    local_chain.confirmations = 3
    local_chain.save()
    pr = make_request(usdc_micro=8_300_011)
    send_token(w3, usdc, payer=PAYERS[0], to=pr.receiving_address, value=8_300_011)

    with django_capture_on_commit_callbacks(execute=True):
        result = rescan_request_window(request_id=pr.pk, chain_id=CHAIN_ID)

    assert result.outcome == "pending"
    pr.refresh_from_db()
    assert pr.proof_status == "attached"
    assert sent == [((str(pr.pk), pr.next_verify_at.isoformat()), 1)]


def sent_args(pr) -> tuple[str, str]:
    pr.refresh_from_db()
    return str(pr.pk), pr.next_verify_at.isoformat()
