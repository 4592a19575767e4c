"""Periodic payment work (beat schedule in ``jopay_project.celery``).

Every task is safe to run twice and claims its own rows. Proof and chain
watcher tasks live with their code in ``payments.proofs`` / ``payments.chain``.
"""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings

from payments.services.closing import payment_requests_expire_due
from payments.services.refresh import fx_refresh

logger = logging.getLogger("jopay.tasks")

# Beat sends the expiry every 60 s. After an outage the due backlog can take
# minutes: a run that went on until its soft limit ended in
# SoftTimeLimitExceeded with its last batch rolled back, and the runs of the
# next ticks overlapped it, holding the periodic queue's worker children while
# the chain watcher's and webhook sweeper's 15 s ticks expired unread. A run
# starts no batch after this; the next tick carries on (D11, D16).
EXPIRE_BUDGET_SECONDS = 40


@shared_task(name="payments.expire_due_requests", time_limit=120, soft_time_limit=100)
def expire_due_requests_task() -> int:
    """D11/D16: expire open requests past ``expires_at`` with no pending proof."""
    expired = payment_requests_expire_due(budget_seconds=EXPIRE_BUDGET_SECONDS)
    if expired:
        logger.info("expired %d payment requests", expired)
    return expired


@shared_task(
    name="payments.refresh_fx_rates",
    time_limit=settings.FX_REFRESH_SOFT_LIMIT_SECONDS + 15,
    soft_time_limit=settings.FX_REFRESH_SOFT_LIMIT_SECONDS,
)
def refresh_fx_rates_task() -> dict:
    """D14/D36: refresh FX rates from the configured feeds (every 30 min).

    Feed trouble is not a task failure: the last good rates stay, the result
    says which feeds failed, and the next run tries again.
    """
    result = fx_refresh()
    return {
        "source": result.source,
        "changed": sorted(result.changed),
        "skipped_pinned": result.skipped_pinned,
        "skipped_newer": result.skipped_newer,
        "errors": result.errors,
    }
