"""Writing events and their delivery rows (the outbox, D23/D24); test sends; resends.

Sending lives in ``webhooks.delivery``; this module only writes rows and
enqueues the send task after the surrounding transaction commits.
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from jopay_project.errors import ErrorCode, JoPayError
from jopay_project.formats import iso
from jopay_project.tasks import enqueue_on_commit
from merchants.models import Partner

from ..models import (
    RequestEventSequence,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)

_TABLE = RequestEventSequence._meta.db_table
# One round trip, PostgreSQL and SQLite alike; the caller's lock on the request
# row orders concurrent emits, and the primary key backs it up.
_NEXT_SEQUENCE = (
    f"INSERT INTO {_TABLE} (request_id, last) VALUES (%s, 1) "  # noqa: S608
    f"ON CONFLICT (request_id) DO UPDATE SET last = {_TABLE}.last + 1 RETURNING last"
)


def _next_sequence(request_id: uuid.UUID) -> int:
    key = RequestEventSequence._meta.pk.get_db_prep_value(request_id, connection)
    with connection.cursor() as cursor:
        cursor.execute(_NEXT_SEQUENCE, [key])
        return cursor.fetchone()[0]


def event_emit(
    *,
    partner: Partner,
    test_mode: bool,
    type: str,
    data: dict[str, Any],
    request_id: uuid.UUID | None = None,
) -> WebhookEvent:
    """Write one event in the caller's transaction and return it.

    Guarantees: the event row commits or rolls back with the caller's state
    change; with ``request_id`` it gets the next per-request ``sequence`` from
    a counter that outlives purged events (the caller holds the request row
    lock, and a unique constraint backs it up).
    The payload is the spec §6.4 + D23 shape minus ``delivery_id``, which each
    delivery adds when it is sent.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("event_emit must run inside the state change's transaction")
    now = timezone.now()
    sequence = None if request_id is None else _next_sequence(request_id)
    payload = {
        "event": type,
        "partner_id": str(partner.pk),
        "test_mode": test_mode,
        **data,
        "sequence": sequence,
        "timestamp": iso(now),
    }
    if request_id is not None:
        payload["request_id"] = str(request_id)
    event = WebhookEvent.objects.create(
        partner=partner,
        test_mode=test_mode,
        type=type,
        request_id=request_id,
        sequence=sequence,
        payload=payload,
        created_at=now,
    )
    _after_emit(event)
    return event


_ENDPOINT_TABLE = WebhookEndpoint._meta.db_table
# D24: the endpoint row is share-locked until the event commits. A switch on
# or off (``webhook_endpoint_set``, ``webhook_endpoint_disable``: FOR UPDATE)
# then either committed before this read, which sees it, or waits for this
# commit and sees the delivery (a disable abandons it). Unlocked, an enable
# committing just after the read lost an event written after its
# ``enabled_at``, and a disable left a delivery pending for the switched-off
# endpoint. KEY SHARE does not block the worker's plain UPDATEs of the row
# (the delivery's foreign key takes the same lock anyway). Filtered in Python:
# a locking read that waited returns the row as the switch committed it.
_ENDPOINT_FOR_EVENT = f'SELECT * FROM "{_ENDPOINT_TABLE}" WHERE "partner_id" = %s'  # noqa: S608
_PARTNER_FOR_EVENT = (
    f'SELECT 1 FROM "{Partner._meta.db_table}" WHERE "id" = %s FOR KEY SHARE'  # noqa: S608
)


def _after_emit(event: WebhookEvent) -> None:
    """Write one pending delivery per enabled endpoint and enqueue its send on commit.

    Only an endpoint enabled at or before the event's time gets one (no
    backfill, spec §6.1): ``enabled_at`` is compared with ``created_at``.
    """
    sql = _ENDPOINT_FOR_EVENT
    if connection.vendor == "postgresql":
        sql += " FOR KEY SHARE"
    partner_id = WebhookEndpoint._meta.get_field("partner").get_db_prep_value(
        event.partner_id, connection
    )
    endpoint = next(iter(WebhookEndpoint.objects.raw(sql, [partner_id])), None)
    if endpoint is None and connection.vendor == "postgresql":
        # No row to lock: a first configuration may be creating it, and it
        # holds the partner row (``endpoints._locked_endpoint``). Wait for it,
        # then look again: that read sees the row if it committed.
        with connection.cursor() as cursor:
            cursor.execute(_PARTNER_FOR_EVENT, [partner_id])
        endpoint = next(iter(WebhookEndpoint.objects.raw(sql, [partner_id])), None)
    if (
        endpoint is not None
        and endpoint.enabled
        and endpoint.url
        and endpoint.enabled_at is not None
        and endpoint.enabled_at <= event.created_at
    ):
        _delivery_create(event=event, endpoint=endpoint)


def _delivery_create(
    *, event: WebhookEvent, endpoint: WebhookEndpoint
) -> WebhookDelivery:
    now = timezone.now()
    delivery = WebhookDelivery.objects.create(
        event=event,
        endpoint=endpoint,
        partner_id=event.partner_id,
        test_mode=event.test_mode,
        next_attempt_at=now,
        enqueued_at=now,
    )
    delivery_enqueue_on_commit(delivery)
    return delivery


def delivery_enqueue_on_commit(delivery: WebhookDelivery) -> None:
    """Put the send on the broker once the row is committed.

    Robust: the state change has committed by then, so a broker outage must
    not turn the caller's answer into an error; the row is in the outbox and
    ``webhooks.send_due_deliveries`` enqueues it later.
    """
    from ..tasks import webhook_delivery_send_task  # tasks import services

    enqueue_on_commit(webhook_delivery_send_task, str(delivery.pk))


def _enabled_endpoint(partner: Partner, *, lock: bool = False) -> WebhookEndpoint:
    endpoints = WebhookEndpoint.objects.filter(partner=partner)
    endpoint = (endpoints.select_for_update() if lock else endpoints).first()
    if endpoint is None or not endpoint.url or not endpoint.enabled:
        raise _not_configured(endpoint)
    return endpoint


def _not_configured(endpoint: WebhookEndpoint | None) -> JoPayError:
    """``webhook_not_configured``, saying whether the URL or delivery is missing."""
    if endpoint is not None and endpoint.url:
        return JoPayError(
            ErrorCode.WEBHOOK_NOT_CONFIGURED,
            "Webhook delivery is switched off; switch it on (portal, or PUT"
            ' /api/v1/webhooks/endpoint with "enabled": true) and try again.',
        )
    return JoPayError(ErrorCode.WEBHOOK_NOT_CONFIGURED)


@transaction.atomic
def webhook_test_send(*, partner: Partner, test_mode: bool = False) -> WebhookDelivery:
    """Emit a ``webhook.test`` event in ``test_mode`` and return its pending delivery.

    Raises ``webhook_not_configured`` unless a URL is set and dispatch is on
    (the secret exists only from the first enable).
    """
    # Locked: a disable cannot slip in between the check and the delivery.
    endpoint = _enabled_endpoint(partner, lock=True)
    event = event_emit(
        partner=partner,
        test_mode=test_mode,
        type=WebhookEvent.Type.WEBHOOK_TEST,
        data={"message": "This is a test event from JoPay."},
    )
    # event_emit skips an endpoint whose enabled_at is after the event's time,
    # which another host's clock can make true for a moment; the partner asked
    # for this send, so its delivery is made here then.
    return event.deliveries.first() or _delivery_create(event=event, endpoint=endpoint)


@transaction.atomic
def webhook_delivery_resend(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Queue one more attempt of ``delivery`` with the same ``delivery_id`` (D24, D35).

    Whatever its state, the row becomes ``pending`` and due now, and the send
    is enqueued on commit; the attempt counter carries on, so the receiver sees
    the next ``x-jopay-delivery-attempt``. An attempt already in flight loses
    its lease, so the resend is not skipped: the two may overlap (the same
    ``delivery_id``, which D24 allows), and only the newer attempt's outcome
    sets the delivery's state (the older no longer owns the row). An endpoint
    whose failing streak runs takes one attempt at a time (``claims``): there
    the resend waits for the attempt in flight, and for older due rows. Raises
    ``webhook_not_configured`` when the endpoint is off.
    """
    delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
    endpoint = delivery.endpoint
    if not endpoint.url or not endpoint.enabled:
        raise _not_configured(endpoint)
    kept = WebhookEvent.objects.filter(
        pk=delivery.event_id, created_at__gte=WebhookEvent.kept_since()
    )
    if delivery.event_id is None or not kept.exists():
        # Purged, or past the 30 days it is kept and not purged yet (D36): as
        # gone as a missing one. Resent, it also stayed out of the purge.
        raise JoPayError(ErrorCode.NOT_FOUND)
    now = timezone.now()
    delivery.state = WebhookDelivery.State.PENDING
    delivery.next_attempt_at = now
    delivery.enqueued_at = now
    delivery.abandoned_reason = ""
    delivery.delivered_at = None
    delivery.locked_until = None
    delivery.save(
        update_fields=[
            "state",
            "next_attempt_at",
            "enqueued_at",
            "abandoned_reason",
            "delivered_at",
            "locked_until",
            "updated_at",
        ]
    )
    delivery_enqueue_on_commit(delivery)
    return delivery


@transaction.atomic
def event_resend(*, event: WebhookEvent) -> WebhookDelivery:
    """Resend ``event`` to the partner's endpoint; see ``webhook_delivery_resend``.

    An event without a delivery (emitted while dispatch was off) gets one now,
    because the partner asked for it explicitly: no backfill happens by itself.
    """
    # One create at a time. The event may have been purged since it was read,
    # or be past its 30 days (D36): then it is as missing as any other id.
    event = (
        WebhookEvent.objects.select_for_update()
        .filter(pk=event.pk, created_at__gte=WebhookEvent.kept_since())
        .first()
    )
    if event is None:
        raise JoPayError(ErrorCode.NOT_FOUND)
    endpoint = _enabled_endpoint(event.partner)
    delivery = WebhookDelivery.objects.filter(event=event, endpoint=endpoint).first()
    if delivery is None:
        return _delivery_create(event=event, endpoint=endpoint)
    return webhook_delivery_resend(delivery=delivery)
