"""The portable ORM form of the claim and result writes (``claims``).

Used on the embedded SQLite default (D30); the PostgreSQL form in ``claims``
does the same in one statement each. Same guarantees, same tests
(``tests/webhooks/test_claims.py`` runs both).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Exists, F, Q

from ..models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from .claims import INTERRUPTED, LEASE_SECONDS, Claim, tries_allowed


@contextmanager
def _relaxed_commit() -> Iterator[None]:
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        yield


def claim(*, delivery_id: str, now: datetime) -> Claim | None:
    lease = now + timedelta(seconds=LEASE_SECONDS)
    with _relaxed_commit():
        claimed = (
            WebhookDelivery.objects.filter(
                pk=delivery_id,
                state=WebhookDelivery.State.PENDING,
                next_attempt_at__lte=now,
            )
            .filter(
                Q(locked_until__isnull=True)
                | Q(locked_until__lte=now, attempts__lt=tries_allowed())
            )
            .update(
                attempts=F("attempts") + 1,
                locked_until=lease,
                updated_at=now,
            )
        )
        if not claimed:
            return None
        # The row is ours until commit, so ``attempts`` is this attempt's number.
        delivery = WebhookDelivery.objects.select_related("endpoint", "event").get(
            pk=delivery_id
        )
        endpoint = delivery.endpoint
        probed = endpoint.failing_since is not None or endpoint.slow_since is not None
        if probed and not _probe_taken(endpoint.pk, now=now, lease=lease):
            # Another attempt to this failing or slow endpoint is in flight.
            transaction.set_rollback(True)
            return None
        logged = WebhookAttempt.objects.create(
            delivery_id=delivery_id,
            number=delivery.attempts,
            started_at=now,
            error=INTERRUPTED,
        )
    return Claim(
        delivery_id=str(delivery_id),
        attempt=delivery.attempts,
        attempt_row_id=logged.pk,
        payload=delivery.event.payload if delivery.event is not None else None,
        endpoint_id=endpoint.pk,
        url=endpoint.url,
        secrets=endpoint.signing_secrets(),
        endpoint_enabled=endpoint.enabled,
        failing_since=endpoint.failing_since,
        lease=lease,
        probed=probed,
    )


def _probe_taken(endpoint_id: int, *, now: datetime, lease: datetime) -> bool:
    """Take the failing or slow endpoint's one-attempt lease, if no live attempt
    holds it."""
    return bool(
        WebhookEndpoint.objects.filter(
            Q(failing_since__isnull=False) | Q(slow_since__isnull=False), pk=endpoint_id
        )
        .filter(Q(probe_until__isnull=True) | Q(probe_until__lte=now))
        .update(probe_until=lease)
    )


def write_result(
    *,
    claim: Claim,
    changes: dict[str, Any],
    attempt: dict[str, Any],
    now: datetime,
    clear_streak: bool = False,
    slow: bool = False,
) -> bool:
    fields = {
        k: v
        for k, v in changes.items()
        if v is not None or k not in ("delivered_at", "enqueued_at")
    }
    with _relaxed_commit():
        WebhookAttempt.objects.filter(
            pk=claim.attempt_row_id, error=INTERRUPTED
        ).update(**attempt)
        if clear_streak:
            answered = WebhookEndpoint.objects.filter(
                pk=claim.endpoint_id, url=claim.url
            )
            # The streak ends, and with it a ``Retry-After`` hold of its lease.
            answered.filter(failing_since__isnull=False).update(
                failing_since=None, probe_until=None
            )
            if slow:
                answered.filter(slow_since__isnull=True).update(slow_since=now)
            else:
                answered.filter(slow_since__isnull=False).update(slow_since=None)
        WebhookEndpoint.objects.filter(
            pk=claim.endpoint_id, probe_until=claim.lease
        ).update(probe_until=None)
        owned = Q(locked_until=claim.lease)
        if changes["state"] == WebhookDelivery.State.DELIVERED:
            owned |= Q(
                state=WebhookDelivery.State.ABANDONED,
                abandoned_reason=WebhookDelivery.AbandonedReason.ENDPOINT_DISABLED,
            )
        else:  # a failure counts only from the URL the endpoint still has
            owned &= Q(
                Exists(
                    WebhookEndpoint.objects.filter(pk=claim.endpoint_id, url=claim.url)
                )
            )
        return bool(
            WebhookDelivery.objects.filter(
                owned, pk=claim.delivery_id, attempts=claim.attempt
            ).update(**fields, locked_until=None, updated_at=now)
        )
