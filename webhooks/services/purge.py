"""Purging old webhook history in bounded batches (D36: events 30 days, logs 90).

One ``QuerySet.delete()`` over every old event made Django null the
deliveries' ``event`` (``SET_NULL``) in one UPDATE with one parameter per
event; past 65 535 events PostgreSQL refuses it, the whole purge rolled back,
and the backlog grew every day after. Each batch here is a few thousand rows
in its own transaction: a failure or a time limit costs one batch, never the
work already done, and the next run carries on where this one stopped.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Model, QuerySet
from django.utils import timezone

from ..models import WebhookAttempt, WebhookDelivery, WebhookEvent

EVENTS_KEPT_DAYS = WebhookEvent.KEPT_DAYS
LOGS_KEPT_DAYS = 90
# Far below PostgreSQL's 65 535 parameters per statement, and short enough
# that a batch holds its row locks for well under a second.
PURGE_BATCH = 5000


def events_purge(
    *,
    now: datetime | None = None,
    batch_size: int = PURGE_BATCH,
    deadline: float | None = None,
) -> dict[str, int]:
    """Delete events older than 30 days and delivery logs older than 90 (D36).

    An event with a delivery still pending is kept until that delivery is
    settled (delivered, failed or abandoned).

    A delivery outlives its event (its ``event`` becomes null), so the attempt
    log stays readable in admin for the full 90 days; answers older than 90
    days on a younger delivery (resent much later) are cleared. Works in
    batches of ``batch_size`` rows, each committed on its own. With
    ``deadline`` (a ``time.monotonic()`` value) it starts no batch after it;
    ``done`` in the returned counts says whether nothing old is left.
    """
    now = now or timezone.now()
    events_before = now - timedelta(days=EVENTS_KEPT_DAYS)
    logs_before = now - timedelta(days=LOGS_KEPT_DAYS)
    counts = {"events": 0, "deliveries": 0, "attempts": 0, "bodies_cleared": 0}

    def delete(model: type[Model]) -> Callable[[list], None]:
        def act(ids: list) -> None:
            # Only the ids: Django's delete fetches the rows it deletes, and
            # nothing but the key is needed (payloads can be large).
            rows = model._default_manager.filter(pk__in=ids).only("pk")
            _, deleted = rows.delete()
            counts["events"] += deleted.get(WebhookEvent._meta.label, 0)
            counts["deliveries"] += deleted.get(WebhookDelivery._meta.label, 0)
            counts["attempts"] += deleted.get(WebhookAttempt._meta.label, 0)

        return act

    def clear_bodies(ids: list) -> None:
        counts["bodies_cleared"] += WebhookAttempt.objects.filter(pk__in=ids).update(
            response_body=""
        )

    # Not while a delivery of it is still to be sent (resent on day 29
    # to a receiver that is down): purged, its next try sent nothing
    # and ended "event purged". It goes once the delivery is settled.
    old_events = WebhookEvent.objects.filter(created_at__lt=events_before).exclude(
        deliveries__state=WebhookDelivery.State.PENDING
    )
    delete_events = delete(WebhookEvent)

    def delete_settled_events(ids: list) -> None:
        # The ids were read without locks: a resend may have made a delivery
        # pending since (and its event then went from under it). Lock the
        # events (``event_resend`` locks them first too), then their
        # deliveries (``webhook_delivery_resend`` locks only those), and ask
        # again in a new statement, which sees every resend committed by then.
        locked = list(
            WebhookEvent.objects.select_for_update()
            .filter(pk__in=ids)
            .order_by("pk")  # one order for two purges at once: no deadlock
            .values_list("pk", flat=True)
        )
        list(
            WebhookDelivery.objects.select_for_update()
            .filter(event_id__in=locked)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        delete_events(
            list(old_events.filter(pk__in=locked).values_list("pk", flat=True))
        )

    steps = [
        (old_events, "created_at", delete_settled_events),
        (
            # By its last activity too: a delivery resent late (up to its
            # event's day 30) keeps its created_at, and deleting it by that
            # took attempts only ~60 days old with it.
            WebhookDelivery.objects.filter(
                created_at__lt=logs_before, updated_at__lt=logs_before
            ),
            "created_at",
            delete(WebhookDelivery),
        ),
        (
            WebhookAttempt.objects.filter(started_at__lt=logs_before).exclude(
                response_body=""
            ),
            "started_at",
            clear_bodies,
        ),
    ]
    done = all(
        _in_batches(qs, order_by, act, batch_size=batch_size, deadline=deadline)
        for qs, order_by, act in steps
    )
    return {**counts, "done": done}


def _in_batches(
    qs: QuerySet,
    order_by: str,
    act: Callable[[list], None],
    *,
    batch_size: int,
    deadline: float | None,
) -> bool:
    """Apply ``act`` to ``qs``'s rows, oldest first, ``batch_size`` ids at a time.

    ``True`` once no row is left; ``False`` if ``deadline`` passed first.
    """
    while deadline is None or time.monotonic() < deadline:
        with transaction.atomic():
            ids = list(qs.order_by(order_by).values_list("pk", flat=True)[:batch_size])
            if ids:
                act(ids)
        if len(ids) < batch_size:
            return True
    return False
