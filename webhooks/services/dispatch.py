"""What to send next (D24): the sweeper's due rows and a one-at-a-time endpoint's next.

Both mark what they return with ``enqueued_at``, so a row is not put on the
broker twice by two of them. A failing or slow endpoint takes one attempt at
a time (``claims``), so only its first due row is offered, and none while
that attempt is in flight.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import OuterRef, Q, Subquery
from django.utils import timezone

from ..models import WebhookDelivery, WebhookEndpoint
from .claims import tries_allowed

# A failing or slow endpoint: one attempt at a time (``claims``).
ONE_AT_A_TIME = Q(failing_since__isnull=False) | Q(slow_since__isnull=False)

# The sweeper re-enqueues a due row only if no task was put on the broker for
# it in this long: a lost task is rescued, a healthy backlog is not duplicated.
REENQUEUE_AFTER_SECONDS = 60


def due_delivery_ids(*, now: datetime | None = None, limit: int = 1000) -> list[str]:
    """Mark and return due pending deliveries that have no live lease or recent task.

    The rows get ``enqueued_at`` = now in the same UPDATE, so two sweeper runs
    racing each other enqueue each row once.
    """
    now = now or timezone.now()
    stale = now - timedelta(seconds=REENQUEUE_AFTER_SECONDS)
    due = (
        WebhookDelivery.objects.filter(
            state=WebhookDelivery.State.PENDING, next_attempt_at__lte=now
        )
        .filter(
            Q(locked_until__isnull=True)
            # A lease that ran out: its attempt never reported back. Sent
            # again only while tries remain (as ``claims`` claims it).
            | Q(locked_until__lte=now, attempts__lt=tries_allowed())
        )
        .filter(Q(enqueued_at__isnull=True) | Q(enqueued_at__lte=stale))
    )
    picked = list(
        due.filter(
            endpoint__failing_since__isnull=True, endpoint__slow_since__isnull=True
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    # A failing or slow endpoint takes one attempt at a time (``claims``):
    # offer only its first due row, and none while its one attempt is in
    # flight. Enqueued all at once, its backlog would only meet a held lease,
    # task by task.
    picked += (
        WebhookEndpoint.objects.filter(ONE_AT_A_TIME)
        .filter(Q(probe_until__isnull=True) | Q(probe_until__lte=now))
        .annotate(
            first_due=Subquery(
                due.filter(endpoint=OuterRef("pk"))
                .order_by("next_attempt_at")
                .values("pk")[:1]
            )
        )
        .filter(first_due__isnull=False)
        .values_list("first_due", flat=True)[:limit]
    )
    with transaction.atomic():
        # The conditions again, on the rows as locked: a sweeper that read the
        # list before another one committed its marks must not enqueue them too.
        ids = list(
            due.select_for_update(skip_locked=True)
            .filter(pk__in=picked)
            .values_list("pk", flat=True)
        )
        WebhookDelivery.objects.filter(pk__in=ids).update(enqueued_at=now)
    return [str(pk) for pk in ids]


def endpoint_next_ids(
    *, endpoint_id: int, now: datetime | None = None, limit: int = 1000
) -> list[str]:
    """After an attempt that held a failing or slow endpoint's lease: what to
    send now.

    Still failing or slow: its first due row (the lease is free again), so a
    backlog drains one attempt at a time without waiting for the sweeper.
    Healthy again (that attempt got a fast 2xx): every due row, up to
    ``limit``. Rows whose
    own task found the lease held still carry that task's ``enqueued_at``, so
    it is ignored here; a row whose task is still queued may get a second
    one, which finds it leased or sent (safe to run twice).
    """
    now = now or timezone.now()
    endpoint = WebhookEndpoint.objects.filter(pk=endpoint_id, enabled=True).first()
    if endpoint is None:
        return []
    one = endpoint.failing_since is not None or endpoint.slow_since is not None
    if one and endpoint.probe_until is not None and endpoint.probe_until > now:
        return []
    due = (
        WebhookDelivery.objects.filter(
            endpoint_id=endpoint_id,
            state=WebhookDelivery.State.PENDING,
            next_attempt_at__lte=now,
        )
        .filter(
            Q(locked_until__isnull=True)
            | Q(locked_until__lte=now, attempts__lt=tries_allowed())
        )
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)
    )
    with transaction.atomic():
        # Rows another transaction holds (a claim, a resend, a switch-off or
        # URL change busy with them) are skipped, not waited for: one UPDATE
        # waiting row by row, in key order, deadlocked with a switch-off
        # locking them in due order. The sweeper offers a skipped row later.
        ids = list(due.select_for_update(skip_locked=True)[: 1 if one else limit])
        WebhookDelivery.objects.filter(pk__in=ids).update(enqueued_at=now)
    return [str(pk) for pk in ids]
