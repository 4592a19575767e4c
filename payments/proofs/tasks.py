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

from jopay_project.tasks import enqueue_on_commit
from payments.chain.rescan import rescan_chains_for, rescan_request_window
from payments.chain.rpc import RpcError, RpcUnavailable
from payments.chain.watcher import watch_chains
from payments.models import PaymentRequest

from .services.verify import (
    BROKER_COUNTDOWN_MAX_SECONDS,
    broker_countdown,
    proof_verify,
    proof_verify_claim,
    rpc_backoff,
)

logger = logging.getLogger("jopay.proofs")

PR = PaymentRequest
VERIFY_MAX_RETRIES = 8
RESCAN_MAX_RETRIES = 6
# The beat is the safety net: it picks proofs this overdue (a self-scheduled
# re-check normally runs on time) and leases them so the next tick skips them.
RECHECK_SLACK = timedelta(seconds=15)
RECHECK_LEASE = timedelta(minutes=2)
RECHECK_BATCH = 500


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


@shared_task(
    name="payments.verify_proof",
    bind=True,
    acks_late=True,
    max_retries=VERIFY_MAX_RETRIES,
    time_limit=60,
    soft_time_limit=50,
)
def verify_proof_task(self, request_id: str, due_at: str | None = None) -> str:
    """Verify one attached proof; retry with backoff while the chain is unreachable.

    ``due_at`` is the ``next_verify_at`` the scheduler wrote (see
    ``proof_verify_claim``): a decided proof, a check not due, or a duplicate
    delivery does nothing. Every countdown stays under the broker's
    visibility timeout (D24); a longer wait is left to the beat's re-check.
    """
    if not proof_verify_claim(
        request_id=request_id, due_at=_parse_due(due_at), now=timezone.now()
    ):
        return "skipped"
    try:
        result = proof_verify(request_id=request_id)
    except (RpcUnavailable, RpcError) as exc:
        # proof_verify recorded the failure and when to try again.
        retry = _next_check(request_id, timezone.now())
        if retry is None or self.request.retries >= self.max_retries:
            logger.info(
                "verify %s: %s; the re-check task carries on", request_id, exc.code
            )
            return str(exc.code)
        token, countdown = retry
        raise self.retry(
            args=(request_id, token), countdown=countdown, exc=exc
        ) from None
    countdown = broker_countdown(result.retry_in)
    if (
        result.outcome == "pending"
        and result.request is not None
        and countdown is not None
        and not self.request.is_eager
    ):
        # Waiting for a receipt or confirmations: check again soon. Eager runs
        # (tests, scripts) ignore countdowns, so they never self-schedule.
        token = result.request.next_verify_at.isoformat()
        verify_proof_task.apply_async((request_id, token), countdown=countdown)
    return result.outcome


def recheck_attached_proofs(*, now=None, batch: int = RECHECK_BATCH) -> list[str]:
    """Claim attached proofs whose ``next_verify_at`` is overdue and enqueue them.

    Guarantees: a claimed row's ``next_verify_at`` moves forward by the lease
    in the same transaction (a conditional UPDATE under ``skip_locked``), so
    two overlapping runs never enqueue the same proof twice.
    """
    now = now or timezone.now()
    with transaction.atomic():
        ids = list(
            PR.objects.select_for_update(skip_locked=True)
            .filter(
                proof_status=PR.ProofStatus.ATTACHED,
                next_verify_at__lte=now - RECHECK_SLACK,
            )
            .order_by("next_verify_at")
            .values_list("pk", flat=True)[:batch]
        )
        lease = now + RECHECK_LEASE
        if ids:
            PR.objects.filter(pk__in=ids).update(next_verify_at=lease)
        claimed = [str(pk) for pk in ids]
        for pk in claimed:
            # The lease is the task's due token: it claims exactly this check.
            enqueue_on_commit(verify_proof_task, pk, lease.isoformat())
    return claimed


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
) -> str:
    """Look for a payment the watcher passed over while a wrong proof was attached.

    Without ``chain_id`` it fans out, one task per chain the request may be
    paid on; each reads the request's payment window in bounded runs and
    enqueues its own continuation (no countdown). Safe to run twice: a request
    whose proof is no longer free is left alone, and a found transfer is
    attached through the same checks as the watcher's (D20 uniqueness).
    """
    if chain_id is None:
        chains = rescan_chains_for(request_id)
        for number in chains:
            rescan_request_task.delay(request_id, number)
        return f"chains {chains}"
    try:
        result = rescan_request_window(
            request_id=request_id,
            chain_id=chain_id,
            from_block=from_block,
            to_block=to_block,
        )
    except (RpcUnavailable, RpcError) as exc:
        logger.warning("rescan %s on chain %s: %s", request_id, chain_id, exc.code)
        if self.request.retries >= self.max_retries:
            return str(exc.code)
        # No row records this work, so the broker holds the retry; capped
        # under the visibility timeout like every proof countdown (D24).
        countdown = min(
            rpc_backoff(self.request.retries + 1), BROKER_COUNTDOWN_MAX_SECONDS
        )
        raise self.retry(countdown=countdown, exc=exc) from None
    if result.next_from_block is not None:
        rescan_request_task.delay(
            request_id, chain_id, result.next_from_block, result.to_block
        )
    return result.outcome
