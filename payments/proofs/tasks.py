"""Celery tasks for proofs and the chain watcher (names are the beat schedule's).

Each task takes ids, re-reads rows and calls a service; each is safe to run
twice (STYLE.md). A chain outage never fails a proof: the task retries with
backoff, and ``payments.recheck_attached_proofs`` re-enqueues whatever is due
by ``next_verify_at`` in case a retry was lost.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from payments.chain.rpc import RpcError, RpcUnavailable
from payments.chain.watcher import watch_chains
from payments.models import PaymentRequest

from .services import proof_verify, rpc_backoff

logger = logging.getLogger("jopay.proofs")

PR = PaymentRequest
VERIFY_MAX_RETRIES = 8
# The beat is the safety net: it picks proofs this overdue (a self-scheduled
# re-check normally runs on time) and leases them so the next tick skips them.
RECHECK_SLACK = timedelta(seconds=15)
RECHECK_LEASE = timedelta(minutes=2)
RECHECK_BATCH = 500


@shared_task(
    name="payments.verify_proof",
    bind=True,
    acks_late=True,
    max_retries=VERIFY_MAX_RETRIES,
    time_limit=60,
    soft_time_limit=50,
)
def verify_proof_task(self, request_id: str) -> str:
    """Verify one attached proof; retry with backoff while the chain is unreachable."""
    try:
        result = proof_verify(request_id=request_id)
    except (RpcUnavailable, RpcError) as exc:
        if self.request.retries >= self.max_retries:
            logger.warning(
                "verify %s: giving up retries (%s); the re-check task carries on",
                request_id,
                exc.code,
            )
            return str(exc.code)
        raise self.retry(
            countdown=rpc_backoff(self.request.retries + 1), exc=exc
        ) from None
    if result.outcome == "pending" and result.retry_in and not self.request.is_eager:
        # Waiting for a receipt or confirmations: check again soon. Eager runs
        # (tests, scripts) ignore countdowns, so they never self-schedule.
        verify_proof_task.apply_async((request_id,), countdown=result.retry_in)
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
        if ids:
            PR.objects.filter(pk__in=ids).update(next_verify_at=now + RECHECK_LEASE)
        claimed = [str(pk) for pk in ids]
        for pk in claimed:
            verify_proof_task.delay_on_commit(pk)
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
