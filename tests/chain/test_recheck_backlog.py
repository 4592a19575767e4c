"""A queue backlog cannot keep a proof's check from running (D20, D24).

The re-check beat leases an overdue proof for ``RECHECK_LEASE`` and sends a
check whose due token is that lease. Behind a backlog longer than the lease,
the beat found the proof overdue again before the check came out of the
queue, leased it again and sent another; each check then came out holding a
token the row no longer had, and did nothing. While the backlog lasted
(every check waiting longer than the lease), no check ever ran, and every
tick queued one more message. Real anvil node and PostgreSQL; the backlog is
the messages held back here (captured on commit, run later in order).
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from payments.models import PaymentRequest
from payments.proofs import tasks
from payments.proofs.services import proof_attach

from .conftest import CHAIN_ID

pytestmark = pytest.mark.chain

PR = PaymentRequest
UNMINED = "0x" + "3d" * 32


def _queued(callbacks) -> list[tuple]:
    return [
        cb.args
        for cb in callbacks
        if getattr(cb, "task_name", None) == "payments.verify_proof"
    ]


def _beat(now: datetime, capture) -> list[tuple]:
    with capture(execute=False) as callbacks:
        tasks.recheck_attached_proofs(now=now)
    return _queued(callbacks)


def _run(args: tuple) -> str:
    return tasks.verify_proof_task.apply(args=args).get()


def test_checks_queued_longer_than_the_lease_still_run_once(
    local_chain, make_request, django_capture_on_commit_callbacks
):
    pr = make_request(usdc_micro=6_400_031)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        proof_attach(request=pr, chain_id=CHAIN_ID, tx_hash=UNMINED, source="customer")
    queued = _queued(callbacks)  # the attach's check, stuck in the backlog
    pr.refresh_from_db()
    attempts = pr.verify_attempts

    # Three beat ticks, each once the lease before it ran out.
    now = pr.next_verify_at
    for _ in range(3):
        now += tasks.RECHECK_SLACK + timedelta(seconds=1)
        sent = _beat(now, django_capture_on_commit_callbacks)
        assert len(sent) == 1, "the beat re-sends a check whose lease ran out"
        queued += sent
        pr.refresh_from_db()
        now = pr.next_verify_at
    assert len(queued) == 4

    # The backlog drains: the first check out runs, the ones after it are the
    # duplicates they are. Before, all four were "skipped" (stale tokens).
    outcomes = [_run(args) for args in queued]
    assert outcomes == ["pending", "skipped", "skipped", "skipped"]
    pr.refresh_from_db()
    assert pr.verify_attempts == attempts + 1
    assert pr.proof_status == "attached"


def test_a_check_that_ran_makes_its_queued_duplicates_no_ops(
    local_chain, make_request, django_capture_on_commit_callbacks
):
    # What the due token is for (D24): a duplicate of a check that ran, or of
    # one running, does nothing, also after the beat leased the proof again.
    pr = make_request(usdc_micro=6_400_047)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        proof_attach(request=pr, chain_id=CHAIN_ID, tx_hash=UNMINED, source="customer")
    first = _queued(callbacks)[0]
    assert _run(first) == "pending"
    pr.refresh_from_db()
    attempts = pr.verify_attempts
    later = pr.next_verify_at + tasks.RECHECK_SLACK + timedelta(seconds=1)
    (leased,) = _beat(later, django_capture_on_commit_callbacks)

    assert _run(first) == "skipped"  # a redelivery of the check that ran
    assert _run(leased) == "pending"
    assert _run(leased) == "skipped"
    pr.refresh_from_db()
    assert pr.verify_attempts == attempts + 1
