"""Scheduling the checks of an attached proof: claims, leases, backoff (D20, D24).

Every check of an ``attached`` proof runs under a claim: the proof's
``next_verify_at`` moved to a short lease by a conditional UPDATE, so of any
number of schedulers (attach, a self-scheduled re-check, an RPC retry, the
beat, a re-verify) one runs the check and the others are no-ops. ``verify``
applies a verdict only while its claim still holds.
"""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta

from django.db import transaction

from jopay_project.tasks import enqueue_on_commit
from payments.models import PaymentRequest
from webhooks.services.outbox import COUNTDOWN_MAX_SECONDS

PR = PaymentRequest
# RPC trouble: back off harder, with jitter (many proofs share one node).
RPC_BACKOFF = (15, 30, 60, 120, 300, 600)
# D24: Redis redelivers a task it has not seen acknowledged within its
# visibility timeout (600 s), and a countdown task is not acknowledged until it
# runs, so a long countdown turns into duplicates. Checks due sooner than this
# also ride a broker countdown; later ones are left to the beat's re-check
# (``payments.recheck_attached_proofs``, every 30 s), as webhook retries are.
BROKER_COUNTDOWN_MAX_SECONDS = COUNTDOWN_MAX_SECONDS
# A claimed check owns the proof this long (the verify task's time limit is
# 60 s); a worker dying mid-check leaves a lease that simply runs out.
CHECK_LEASE = timedelta(minutes=2)
# Clocks of web and worker hosts differ a little: a check this close is due.
DUE_SLACK = timedelta(seconds=5)
# The re-check beat's leases of an overdue proof are this many seconds apart,
# counted from the due time it found (``recheck_lease``), so a check queued
# for any of them can still tell that only the beat moved it (``_renewed``).
RECHECK_LEASE_STEP = timedelta(seconds=15)


def rpc_backoff(attempts: int) -> int:
    """Seconds before the next try after ``attempts`` failed ones (±20 % jitter)."""
    base = RPC_BACKOFF[min(max(attempts - 1, 0), len(RPC_BACKOFF) - 1)]
    return max(1, round(base * random.uniform(0.8, 1.2)))  # noqa: S311 (jitter)


def broker_countdown(seconds: float | None) -> int | None:
    """A countdown the broker can hold safely, or None: leave it to the beat (D24)."""
    if seconds is None or seconds > BROKER_COUNTDOWN_MAX_SECONDS:
        return None
    return max(int(seconds), 0)


def next_check_enqueue(request: PaymentRequest | None, retry_in: int | None) -> None:
    """Send a pending proof's next check, due at ``next_verify_at``, on commit.

    For the checks no task runs (the watcher's and a rescan's in-process
    check, a re-verify): at the pace the check asked for, as the verify task
    schedules its own. A wait past the broker's cap, or a proof no longer
    attached, is left to the beat's re-check (D24).
    """
    countdown = broker_countdown(retry_in)
    if request is None or countdown is None or request.next_verify_at is None:
        return
    from ..tasks import verify_proof_task

    # The due token makes it a no-op once another check ran (proof_verify_claim).
    enqueue_on_commit(
        verify_proof_task,
        str(request.pk),
        request.next_verify_at.isoformat(),
        countdown=countdown,
    )


def recheck_lease(due: datetime, *, now: datetime, lease: timedelta) -> datetime:
    """The beat's lease of a proof overdue since ``due``: at least ``lease``
    from ``now``, a whole number of ``RECHECK_LEASE_STEP`` after ``due``."""
    steps = -(-(now + lease - due) // RECHECK_LEASE_STEP)  # rounded up
    return due + max(steps, 1) * RECHECK_LEASE_STEP


def _renewed(due_at: datetime, current: datetime) -> bool:
    """Whether ``current`` is ``due_at`` leased again by the beat, and no more."""
    gap = current - due_at
    return gap > timedelta(0) and gap % RECHECK_LEASE_STEP == timedelta(0)


def proof_verify_claim(
    *, request_id: uuid.UUID | str, due_at: datetime | None, now: datetime
) -> datetime | None:
    """Claim one scheduled check of an attached proof: its lease, or None.

    Each scheduler (attach, a self-scheduled re-check, an RPC retry, the beat)
    hands the task the ``next_verify_at`` it wrote, ``due_at``. The claim is a
    conditional UPDATE that matches only an ``attached`` proof whose
    ``next_verify_at`` is still that value (or, without one, is due), and moves
    it to a short lease. So a proof already decided, a check not due yet, and
    a duplicate delivery of a check that already ran (its run wrote a new
    ``next_verify_at``) are no-ops: no RPC, no write, no second schedule.

    A token the re-check beat leased again since (``recheck_lease``: only
    whole steps later, no check ran) still claims: behind a queue backlog
    longer than the beat's lease, the beat found the proof overdue again
    before its check came out of the queue, and every check then came out
    with a stale token and did nothing, for as long as the backlog lasted
    (D24). The first check out runs; the others find its claim.

    The lease returned is the check's claim token: pass it to ``proof_verify``,
    which applies its verdict only while ``next_verify_at`` still holds it.
    """
    rows = PR.objects.filter(pk=request_id, proof_status=PR.ProofStatus.ATTACHED)
    lease = now + CHECK_LEASE
    if due_at is None:
        taken = rows.filter(next_verify_at__lte=now + DUE_SLACK)
        return lease if taken.update(next_verify_at=lease) == 1 else None
    current = rows.values_list("next_verify_at", flat=True).first()
    if current is None or (current != due_at and not _renewed(due_at, current)):
        return None
    # Conditional on the value read: of two checks at once, one claims.
    taken = rows.filter(next_verify_at=current).update(next_verify_at=lease)
    return lease if taken == 1 else None


def proof_verify_take_over(
    *, request_id: uuid.UUID | str, now: datetime
) -> datetime | None:
    """Claim the attached proof's check now, due or not: its lease, or None.

    For a check nobody scheduled (a re-verify, D35): a check already running
    loses its claim, so its verdict, read earlier, is not applied (the one
    read now is); the beat passes the proof over while the lease runs.
    """
    lease = now + CHECK_LEASE
    taken = PR.objects.filter(
        pk=request_id, proof_status=PR.ProofStatus.ATTACHED
    ).update(next_verify_at=lease)
    return lease if taken == 1 else None


def record_rpc_failure(
    request_id: uuid.UUID, *, tx_hash: str, claim: datetime, now: datetime
) -> int:
    """Push the next check back; the proof stays ``attached`` (D20). Returns it.

    Only while the check still owns the proof (``claim``): a failure of a check
    that was overtaken says nothing about the check that took over.
    """
    with transaction.atomic():
        row = (
            PR.objects.select_for_update()
            .filter(
                pk=request_id,
                proof_status=PR.ProofStatus.ATTACHED,
                tx_hash=tx_hash,
                next_verify_at=claim,
            )
            .first()
        )
        if row is None:
            return 0
        row.verify_attempts += 1
        # Failures in a row, not checks: a proof waiting for its receipt and
        # confirmations is checked a dozen times, and counting those made a
        # node's first blip wait the longest backoff (10 min).
        row.rpc_failures += 1
        delay = rpc_backoff(row.rpc_failures)
        row.next_verify_at = now + timedelta(seconds=delay)
        row.save(
            update_fields=[
                "verify_attempts",
                "rpc_failures",
                "next_verify_at",
                "updated_at",
            ]
        )
        return delay
