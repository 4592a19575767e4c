"""Rescans as database rows: scheduled with the mismatch, leased, resumed (D20, D21).

A rescan (``payments.chain.rescan``) is the safety net for a real payment
the watcher passed over while a wrong proof was attached. It must not depend
on a broker message surviving, so each owed rescan is a ``RequestRescan`` row:

* ``rescans_schedule`` (``rescans_owed``) writes one row per chain the
  request may be paid on, in the caller's transaction (the one that records
  the ``mismatch``), and enqueues a task per row on commit;
* ``rescan_claim`` leases a row to one worker (a worker that dies simply
  lets its lease run out); ``rescan_finish`` records where the next run
  starts, or deletes the row once the window is read or no longer needed;
* ``rescans_resume`` (beat) re-enqueues rows whose task was lost, whose
  retry never came, or whose worker's lease ran out.

Every write after the schedule is conditional on the generation claimed, so
a run that a newer mismatch overtook (the scan starts over then) records
nothing.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from payments.models import Chain, PaymentRequest, RequestRescan

# Scheduling moved to ``rescans_owed``; importable from here as before.
from .rescans_owed import _enqueue, rescan_args, rescans_schedule

__all__ = [
    "HELD_RECHECK",
    "MAX_RUNS_WITHOUT_PROGRESS",
    "NO_PROGRESS_DELAY_SECONDS",
    "RESCAN_LEASE",
    "RESUME_AFTER",
    "RESUME_BATCH",
    "RescanClaim",
    "rescan_adopt",
    "rescan_args",
    "rescan_claim",
    "rescan_finish",
    "rescan_hold",
    "rescan_release",
    "rescans_resume",
    "rescans_schedule",
]

logger = logging.getLogger("jopay.proofs")

# Longer than the task's hard time limit (300 s): a live run is never doubled.
RESCAN_LEASE = timedelta(minutes=6)
# A row nobody holds and no task was sent for in this long is sent again.
RESUME_AFTER = timedelta(minutes=5)
RESUME_BATCH = 500
# Runs in a row that did not move the scan on (the node refuses old blocks,
# or a run never finishes its part): past this the rescan is given up, with
# an error logged, instead of spending RPC calls for ever. With the task's
# own retries (6, backing off to 10 min) and the resume beat, about three
# hours of a chain that keeps failing.
MAX_RUNS_WITHOUT_PROGRESS = 48
# An owed rescan of a request whose proof is attached again waits this long
# before the resume beat looks at it once more (a mismatch of that proof
# restarts it at once; once the request is paid the next look drops it).
HELD_RECHECK = timedelta(hours=1)
# A continuation that did not move on (the node answering had not reached the
# blocks yet) waits this long: run at once, 48 of them pass in seconds.
NO_PROGRESS_DELAY_SECONDS = 30


@dataclass(frozen=True)
class RescanClaim:
    request_id: uuid.UUID
    chain_id: int
    generation: int
    from_block: int | None
    to_block: int | None
    floor_block: int | None = None


def rescan_adopt(
    *,
    request_id: uuid.UUID | str,
    chain_id: int,
    from_block: int | None,
    to_block: int | None,
) -> None:
    """A message sent before rescans had rows: give it its row (once).

    A continuation brings its block range; a fan-out child (or its retry)
    brings none, and its first run computes the window, as it did then.
    """
    # Worker-side: the id comes from a task JoPay itself sent, not from a
    # tenant, so there is no partner or mode to scope by (D10 guards tenant input).
    known = PaymentRequest.objects.filter(pk=request_id).exists()  # tenancy: ok
    if known and Chain.objects.filter(pk=chain_id).exists():
        RequestRescan.objects.get_or_create(
            request_id=request_id,
            chain_id=chain_id,
            defaults={
                "next_from_block": from_block,
                "to_block": to_block,
                "enqueued_at": timezone.now(),
            },
        )


def rescan_claim(
    *, request_id: uuid.UUID | str, chain_id: int, now: datetime
) -> RescanClaim | None:
    """Lease the owed rescan to this worker, or ``None`` (done, or held)."""
    with transaction.atomic():
        row = (
            RequestRescan.objects.select_for_update(skip_locked=True)
            .filter(request_id=request_id, chain_id=chain_id)
            .filter(Q(locked_until__isnull=True) | Q(locked_until__lte=now))
            .first()
        )
        if row is None:
            return None
        if row.runs >= MAX_RUNS_WITHOUT_PROGRESS:
            RequestRescan.objects.filter(pk=row.pk).delete()
            logger.error(
                "rescan %s on chain %s given up after %d runs without progress "
                "(from block %s)",
                row.request_id,
                row.chain_id,
                row.runs,
                row.next_from_block,
            )
            return None
        RequestRescan.objects.filter(pk=row.pk).update(
            locked_until=now + RESCAN_LEASE, runs=F("runs") + 1
        )
    return RescanClaim(
        request_id=row.request_id,
        chain_id=row.chain_id,
        generation=row.generation,
        from_block=row.next_from_block,
        to_block=row.to_block,
        floor_block=row.floor_block,
    )


def _mine(claim: RescanClaim):
    return RequestRescan.objects.filter(
        request_id=claim.request_id,
        chain_id=claim.chain_id,
        generation=claim.generation,
    )


def rescan_finish(
    *,
    claim: RescanClaim,
    next_from_block: int | None,
    to_block: int | None,
    now: datetime,
) -> bool:
    """Record a finished run; ``True`` if a continuation was enqueued.

    ``next_from_block`` None: the window is read (or not needed), so the row
    goes. Otherwise the row says where to carry on and a task is sent for it.
    """
    with transaction.atomic():
        if next_from_block is None:
            _mine(claim).delete()
            return False
        progressed = claim.from_block is None or next_from_block > claim.from_block
        delay = None if progressed else NO_PROGRESS_DELAY_SECONDS
        moved = _mine(claim).update(
            next_from_block=next_from_block,
            to_block=to_block,
            locked_until=None,
            enqueued_at=now + timedelta(seconds=delay or 0),
            # Only runs that do not move the scan on count against the cap.
            runs=0 if progressed else F("runs"),
        )
        if moved:
            _enqueue(claim.request_id, claim.chain_id, countdown=delay)
        return bool(moved)


def rescan_hold(*, claim: RescanClaim, now: datetime) -> None:
    """Keep the row while the request's proof is attached again (D16, D20).

    That proof holds the request, so the watcher passes it over: the blocks
    this rescan owes are still owed if it ends in a mismatch too, whose
    ``rescans_schedule`` then restarts this row (keeping its lower floor).
    Waiting is not failing, so it does not count against the cap.
    """
    _mine(claim).update(locked_until=None, runs=0, enqueued_at=now + HELD_RECHECK)


def rescan_release(*, claim: RescanClaim, retry_at: datetime) -> None:
    """Give the row back after a failed run; a retry is expected by ``retry_at``."""
    _mine(claim).update(locked_until=None, enqueued_at=retry_at)


def rescans_resume(
    *, now: datetime, batch: int = RESUME_BATCH
) -> list[tuple[str, int]]:
    """Beat: re-enqueue owed rescans that nobody is working on.

    A row is taken when its lease ran out (the worker died) or when no worker
    holds it and no task was sent for ``RESUME_AFTER``. Taking it moves
    ``enqueued_at`` in the same transaction (``skip_locked``), so overlapping
    beats never send the same row twice.
    """
    with transaction.atomic():
        rows = list(
            RequestRescan.objects.select_for_update(skip_locked=True)
            .filter(
                Q(locked_until__lte=now)
                | Q(locked_until__isnull=True, enqueued_at__lte=now - RESUME_AFTER)
            )
            .order_by("enqueued_at")
            .values_list("pk", "request_id", "chain_id")[:batch]
        )
        if rows:
            RequestRescan.objects.filter(pk__in=[pk for pk, _, _ in rows]).update(
                locked_until=None, enqueued_at=now
            )
        taken = [(str(request_id), chain_id) for _, request_id, chain_id in rows]
        for request_id, chain_id in taken:
            _enqueue(request_id, chain_id)
    return taken
