"""Writing events (the outbox, D23/D24). Delivery lives in ``webhooks.delivery``."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from jopay_project.formats import iso
from merchants.models import Partner

from .models import WebhookEvent


def event_emit(*, partner: Partner, test_mode: bool, type: str,  # noqa: A002
               data: dict[str, Any], request_id: uuid.UUID | None = None) -> WebhookEvent:
    """Write one event in the caller's transaction and return it.

    Guarantees: the event row commits or rolls back with the caller's state
    change; with ``request_id`` it gets the next per-request ``sequence`` (the
    caller holds the request row lock, and a unique constraint backs it up).
    The payload is the spec §6.4 + D23 shape minus ``delivery_id``, which each
    delivery adds when it is sent.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("event_emit must run inside the state change's transaction")
    now = timezone.now()
    sequence = None
    if request_id is not None:
        last = (WebhookEvent.objects.filter(request_id=request_id)
                .aggregate(m=Max("sequence"))["m"])
        sequence = (last or 0) + 1
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
        partner=partner, test_mode=test_mode, type=type, request_id=request_id,
        sequence=sequence, payload=payload, created_at=now,
    )
    _after_emit(event)
    return event


def _after_emit(event: WebhookEvent) -> None:
    """Hook for the delivery layer: write delivery rows, enqueue on commit."""
