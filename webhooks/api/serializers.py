"""Webhook API input parsing and output shape (D4, D35). No business logic.

The body itself is read by ``merchants.api.serializers.json_object_body``, as on
every v1 JSON route, so all of them answer an unusable body alike (D4, D34).
"""

from __future__ import annotations

from typing import Any

from jopay_project.errors import ErrorCode, JoPayError
from jopay_project.formats import iso

from ..models import WebhookDelivery, WebhookEndpoint, WebhookEvent


def parse_endpoint_input(data: dict[str, Any]) -> dict[str, Any]:
    """``{url?, enabled?}`` → keyword arguments of ``webhook_endpoint_set``.

    ``url`` must be a string (``""`` removes it) else ``invalid_webhook_url``;
    ``enabled`` a JSON boolean else ``invalid_request`` with ``field``.
    Unknown fields are ignored (D4).
    """
    changes: dict[str, Any] = {}
    if "url" in data:
        if not isinstance(data["url"], str):
            raise JoPayError(ErrorCode.INVALID_WEBHOOK_URL, field="url")
        changes["url"] = data["url"].strip()
    if "enabled" in data:
        if not isinstance(data["enabled"], bool):
            raise JoPayError(ErrorCode.INVALID_REQUEST, field="enabled")
        changes["enabled"] = data["enabled"]
    return changes


def endpoint_output(
    endpoint: WebhookEndpoint | None, *, new_secret: str | None = None
) -> dict[str, Any]:
    """The endpoint shape; ``secret`` only in the answer that generated it (D35)."""
    out: dict[str, Any] = {
        "url": (endpoint.url or None) if endpoint else None,
        "enabled": bool(endpoint and endpoint.enabled),
        "rotation_pending": bool(endpoint and endpoint.rotation_pending),
        "failing_since": iso(endpoint.failing_since) if endpoint else None,
        "slow_since": iso(endpoint.slow_since) if endpoint else None,
        "disabled_reason": (endpoint.disabled_reason or None) if endpoint else None,
    }
    if new_secret:
        out["secret"] = new_secret
    return out


def delivery_output(delivery: WebhookDelivery) -> dict[str, Any]:
    return {
        "delivery_id": str(delivery.pk),
        "state": delivery.state,
        "attempts": delivery.attempts,
        "next_attempt_at": iso(delivery.next_attempt_at),
        "delivered_at": iso(delivery.delivered_at),
        "abandoned_reason": delivery.abandoned_reason or None,
        "attempt_log": [
            {
                "number": a.number,
                "status_code": a.status_code,
                "latency_ms": a.latency_ms,
                # Still being sent: no result yet, not an interrupted send.
                "error": None if a.in_flight else (a.error or None),
                # D24/README: the first 2 KiB of the receiver's answer as kept
                # ("" without an answer, and once cleared after 90 days, D36).
                "response_body": a.response_body,
                "at": iso(a.started_at),
            }
            for a in delivery.attempt_log.all()
        ],
    }


def event_output(event: WebhookEvent) -> dict[str, Any]:
    return {
        "event_id": str(event.pk),
        "type": event.type,
        "request_id": str(event.request_id) if event.request_id else None,
        "sequence": event.sequence,
        "created_at": iso(event.created_at),
        "payload": event.payload,
        "deliveries": [delivery_output(d) for d in event.deliveries.all()],
    }
