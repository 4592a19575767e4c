"""Celery tasks of the webhook outbox (D24, D36). Each is safe to run twice."""

from __future__ import annotations

import logging
import time

from celery import shared_task
from django.db import InterfaceError, OperationalError

from jopay_project.tasks import enqueue_on_commit, publish_saved

from . import delivery
from .services import outbox

logger = logging.getLogger("jopay.webhooks")


# The database gone for a moment (a restart, a failover): the task is tried
# again in a few seconds instead of failing with a traceback and waiting for
# the sweeper's 60 s re-enqueue mark (a one-second blip delayed the whole
# queued backlog by 60–75 s). Safe: a claim that failed sent nothing; a result
# that failed after the POST left the row leased, so the retry claims nothing
# and the lease's end sends it again with the same delivery_id (D24).
DATABASE_RETRIES = 3
DATABASE_RETRY_SECONDS = 5


@shared_task(
    name="webhooks.deliver",
    acks_late=True,
    soft_time_limit=20,
    time_limit=30,
    ignore_result=True,
    autoretry_for=(OperationalError, InterfaceError),
    max_retries=DATABASE_RETRIES,
    default_retry_delay=DATABASE_RETRY_SECONDS,
    retry_backoff=False,
    retry_jitter=False,
)
def webhook_delivery_send_task(delivery_id: str) -> str:
    """Send one attempt of ``delivery_id`` if it is still pending and due.

    While the endpoint is failing or slow, only one attempt to it is in flight
    at a time (``services.claims``); a task that finds it taken sends nothing, and
    the attempt holding it hands the endpoint on when it ends (``deliver``).

    A short retry is also put on the broker with a countdown; longer ones (and
    any task lost on the way) are picked up by ``webhooks.send_due_deliveries``.
    """
    recorded = delivery.deliver(delivery_id=delivery_id)
    if recorded is None:
        return "skipped"
    if recorded.countdown is not None:
        # The result is saved: a broker outage is logged, not raised; the
        # sweeper sends the retry once its ``enqueued_at`` is stale (D24).
        publish_saved(
            webhook_delivery_send_task, delivery_id, countdown=recorded.countdown
        )
    return recorded.state


@shared_task(
    name="webhooks.send_due_deliveries",
    ignore_result=True,
    soft_time_limit=50,
    time_limit=60,
)
def send_due_deliveries_task() -> int:
    """Beat (every 15 s): enqueue due pending deliveries without a live lease.

    This is what retries long-delayed deliveries and rescues those whose task
    was lost or whose worker was killed mid-send (its lease ran out); one whose
    worker died on its last try ends ``failed`` instead (D24).
    """
    outbox.deliveries_interrupted_fail()
    ids = outbox.due_delivery_ids()
    # The rows are marked sent (``enqueued_at``): a broker outage is logged,
    # not raised, and the next sweep after 60 s offers them again.
    for delivery_id in ids:
        publish_saved(webhook_delivery_send_task, delivery_id)
    if ids:
        logger.info("enqueued %d due webhook deliveries", len(ids))
    return len(ids)


# The purge works in committed batches and starts none after this budget, so
# it ends well inside its soft limit and a webhook worker is never held long;
# a run that used it all queues the rest at once, so a backlog drains in a
# few runs instead of growing every day (D36). Both limits stay far below the
# broker's visibility timeout (600 s), after which Redis would hand the task
# to a second worker.
PURGE_BUDGET_SECONDS = 40


@shared_task(
    name="webhooks.purge_old_events",
    ignore_result=True,
    soft_time_limit=60,
    time_limit=75,
)
def purge_old_events_task() -> dict[str, int]:
    """Daily: events after 30 days, delivery logs and answers after 90 (D36)."""
    counts = outbox.events_purge(deadline=time.monotonic() + PURGE_BUDGET_SECONDS)
    logger.info("purged webhook history: %s", counts)
    if not counts["done"]:
        # The rest in another run. A broker that is down is logged on one line
        # (the work done is saved; tomorrow's run carries on), not raised.
        enqueue_on_commit(purge_old_events_task)
    return counts
