"""Celery tasks for proofs and the chain watcher (names are the beat schedule's).

Each task takes ids, re-reads rows and calls a service; each is safe to run
twice (STYLE.md). A chain outage never fails a proof: the task retries with
backoff, and ``payments.recheck_attached_proofs`` re-enqueues whatever is due
by ``next_verify_at`` in case a retry was lost, or was too far off to ride a
broker countdown (D24: Redis redelivers long countdowns as duplicates).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from jopay_project.tasks import enqueue_on_commit, publish_saved, retry_saved
from payments.chain.matching import CANDIDATE_PROOF_STATUSES, CANDIDATE_STATUSES
from payments.chain.rescan import rescan_request_window
from payments.chain.rpc import ChainClient, RpcError, RpcUnavailable
from payments.chain.watcher import watch_chains
from payments.models import Chain, PaymentRequest

from .services.checks import (
    BROKER_COUNTDOWN_MAX_SECONDS,
    broker_countdown,
    proof_verify_claim,
    recheck_lease,
    rpc_backoff,
)
from .services.rescans import (
    rescan_adopt,
    rescan_claim,
    rescan_finish,
    rescan_hold,
    rescan_release,
    rescans_resume,
)
from .services.rescans_owed import rescan_args, rescans_schedule
from .services.verify import proof_verify

logger = logging.getLogger("jopay.proofs")

PR = PaymentRequest
VERIFY_MAX_RETRIES = 8
RESCAN_MAX_RETRIES = 6
# The beat is the safety net: it picks proofs this overdue (a self-scheduled
# re-check normally runs on time) and leases them so the next tick skips them.
RECHECK_SLACK = timedelta(seconds=15)
RECHECK_LEASE = timedelta(minutes=2)
RECHECK_BATCH = 500
VERIFY_SOFT_LIMIT_SECONDS = 50
# What a check may spend asking the chain. Each call waits up to 5 s, and a
# check makes several per RPC URL (probe, receipt, head, block) while failing
# over: with a few slow URLs the soft limit cut it off mid-call, with nothing
# recorded, so no backoff (the beat sent it again every 2 min 15 s, each time
# holding a worker child for 50 s and ending in a traceback). Past this the
# client raises RpcUnavailable, recorded as a failed try, in time (D20, D24).
VERIFY_RPC_BUDGET_SECONDS = VERIFY_SOFT_LIMIT_SECONDS - 15


def _parse_due(due_at: str | None) -> datetime | None:
    return datetime.fromisoformat(due_at) if due_at else None


def _next_check(request_id: str, now: datetime) -> tuple[str, int] | None:
    """The proof's next check as (due token, countdown), or None: the beat's job."""
    due = (
        PR.objects.filter(pk=request_id, proof_status=PR.ProofStatus.ATTACHED)
        .values_list("next_verify_at", flat=True)
        .first()
    )
    if due is None:
        return None
    countdown = broker_countdown((due - now).total_seconds() + 1)
    return None if countdown is None else (due.isoformat(), countdown)


def _budgeted_client(request_id: str) -> ChainClient | None:
    """A client for the request's chain whose calls end within the budget."""
    chain_id = PR.objects.filter(pk=request_id).values_list("chain_id", flat=True)
    chain = Chain.objects.filter(pk__in=chain_id[:1]).first()
    return (
        None if chain is None else ChainClient(chain, budget=VERIFY_RPC_BUDGET_SECONDS)
    )


@shared_task(
    name="payments.verify_proof",
    bind=True,
    acks_late=True,
    max_retries=VERIFY_MAX_RETRIES,
    time_limit=VERIFY_SOFT_LIMIT_SECONDS + 10,
    soft_time_limit=VERIFY_SOFT_LIMIT_SECONDS,
)
def verify_proof_task(self, request_id: str, due_at: str | None = None) -> str:
    """Verify one attached proof; retry with backoff while the chain is unreachable.

    ``due_at`` is the ``next_verify_at`` the scheduler wrote (see
    ``proof_verify_claim``): a decided proof, a check not due, or a duplicate
    delivery does nothing. Every countdown stays under the broker's
    visibility timeout (D24); a longer wait is left to the beat's re-check.
    """
    claim = proof_verify_claim(
        request_id=request_id, due_at=_parse_due(due_at), now=timezone.now()
    )
    if claim is None:
        return "skipped"
    try:
        result = proof_verify(
            request_id=request_id, claim=claim, client=_budgeted_client(request_id)
        )
    except (RpcUnavailable, RpcError) as exc:
        # proof_verify recorded the failure and when to try again.
        retry = _next_check(request_id, timezone.now())
        if retry is None or self.request.retries >= self.max_retries:
            logger.info(
                "verify %s: %s; the re-check task carries on", request_id, exc.code
            )
            return str(exc.code)
        token, countdown = retry
        retry_saved(self, args=(request_id, token), countdown=countdown, exc=exc)
        return str(exc.code)  # the broker is down: the beat's re-check carries on
    countdown = broker_countdown(result.retry_in)
    if (
        result.outcome == "pending"
        and result.request is not None
        and countdown is not None
        and not self.request.is_eager
    ):
        # Waiting for a receipt or confirmations: check again soon. Eager runs
        # (tests, scripts) ignore countdowns, so they never self-schedule.
        # The check is saved: a broker outage is logged, not raised, and the
        # beat's re-check finds the proof due (D24).
        token = result.request.next_verify_at.isoformat()
        publish_saved(verify_proof_task, request_id, token, countdown=countdown)
    return result.outcome


def recheck_attached_proofs(*, now=None, batch: int = RECHECK_BATCH) -> list[str]:
    """Claim attached proofs whose ``next_verify_at`` is overdue and enqueue them.

    Guarantees: a claimed row's ``next_verify_at`` moves forward by the lease
    in the same transaction (rows locked with ``skip_locked``), so two
    overlapping runs never enqueue the same proof twice. A check queued
    before it, still behind a backlog, can claim it too (``recheck_lease``).
    """
    now = now or timezone.now()
    with transaction.atomic():
        rows = list(
            PR.objects.select_for_update(skip_locked=True)
            .filter(
                proof_status=PR.ProofStatus.ATTACHED,
                next_verify_at__lte=now - RECHECK_SLACK,
            )
            .order_by("next_verify_at")
            .only("pk", "next_verify_at")[:batch]
        )
        for row in rows:
            lease = recheck_lease(row.next_verify_at, now=now, lease=RECHECK_LEASE)
            row.next_verify_at = lease
            # The lease is the task's due token: it claims exactly this check.
            enqueue_on_commit(verify_proof_task, str(row.pk), lease.isoformat())
        PR.objects.bulk_update(rows, ["next_verify_at"])
    return [str(row.pk) for row in rows]


@shared_task(
    name="payments.recheck_attached_proofs",
    acks_late=True,
    time_limit=60,
    soft_time_limit=50,
)
def recheck_attached_proofs_task() -> int:
    return len(recheck_attached_proofs())


@shared_task(
    name="payments.watch_chains", acks_late=True, time_limit=300, soft_time_limit=280
)
def watch_chains_task() -> list[dict]:
    return [
        {
            "chain_id": r.chain_id,
            "from": r.from_block,
            "to": r.to_block,
            "attached": len(r.attached),
            "verified": len(r.verified),
            "skipped": r.skipped,
        }
        for r in watch_chains()
    ]


@shared_task(
    name="payments.rescan_request",
    bind=True,
    acks_late=True,
    max_retries=RESCAN_MAX_RETRIES,
    time_limit=300,
    soft_time_limit=280,
)
def rescan_request_task(
    self,
    request_id: str,
    chain_id: int | None = None,
    from_block: int | None = None,
    to_block: int | None = None,
    owed: bool = False,
) -> str:
    """Run one bounded part of a rescan that a ``RequestRescan`` row says is owed.

    The row is the work: where this run starts, and whether anything is still
    owed at all; a duplicate message, or one for a rescan already done, finds
    no free row and does nothing. A continuation is written to the row and
    enqueued on commit; a chain outage gives the row back and retries, and
    ``payments.resume_rescans`` sends the row again if that retry is lost.

    Messages JoPay sends now carry ``owed=True`` (``rescan_args``). Any other
    form was sent before rescans had rows, and is still understood: without
    ``chain_id`` it schedules the rows; with one it is given its row (with
    its block range, or from the window's start), so a deploy loses none of
    the rescans already queued or parked on a retry countdown.
    """
    if chain_id is None:
        with transaction.atomic():
            request = (
                PR.objects.select_for_update(of=("self",))
                .filter(
                    pk=request_id,
                    status__in=CANDIDATE_STATUSES,
                    proof_status__in=CANDIDATE_PROOF_STATUSES,
                )
                .first()
            )
            chains = (
                []
                if request is None
                else rescans_schedule(request=request, now=timezone.now())
            )
        return f"chains {chains}"
    if not owed:
        rescan_adopt(
            request_id=request_id,
            chain_id=chain_id,
            from_block=from_block,
            to_block=to_block,
        )
    claim = rescan_claim(request_id=request_id, chain_id=chain_id, now=timezone.now())
    if claim is None:
        return "skipped"  # done already, or another worker holds it
    try:
        result = rescan_request_window(
            request_id=request_id,
            chain_id=chain_id,
            from_block=claim.from_block,
            to_block=claim.to_block,
            floor_block=claim.floor_block,
        )
    except (RpcUnavailable, RpcError) as exc:
        logger.warning("rescan %s on chain %s: %s", request_id, chain_id, exc.code)
        # Capped under the visibility timeout like every proof countdown (D24).
        countdown = min(
            rpc_backoff(self.request.retries + 1), BROKER_COUNTDOWN_MAX_SECONDS
        )
        rescan_release(
            claim=claim, retry_at=timezone.now() + timedelta(seconds=countdown)
        )
        if self.request.retries < self.max_retries:
            args = rescan_args(request_id, chain_id)
            retry_saved(self, args=args, countdown=countdown, exc=exc)
        return str(exc.code)  # the row stays; the resume beat sends it again
    if result.outcome == "held":
        rescan_hold(claim=claim, now=timezone.now())
        return result.outcome
    rescan_finish(
        claim=claim,
        next_from_block=result.next_from_block,
        to_block=result.to_block,
        now=timezone.now(),
    )
    return result.outcome


@shared_task(
    name="payments.resume_rescans",
    acks_late=True,
    time_limit=60,
    soft_time_limit=50,
)
def resume_rescans_task() -> int:
    """Beat: send owed rescans again whose task was lost or whose worker died."""
    taken = rescans_resume(now=timezone.now())
    if taken:
        logger.info("re-enqueued %d owed rescans", len(taken))
    return len(taken)
