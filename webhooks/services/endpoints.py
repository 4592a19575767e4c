"""The partner's webhook endpoint: URL, switch, secret rotation (§6.1, D25, D26)."""

from __future__ import annotations

import hashlib
import logging
import time
from datetime import datetime
from functools import partial

from django.db import transaction
from django.utils import timezone

from jopay_project.errors import ErrorCode, JoPayError
from merchants.audit import audit_record
from merchants.models import Partner

from .. import signing, urlsafety
from ..models import WebhookDelivery, WebhookEndpoint
from .events import delivery_enqueue_on_commit

logger = logging.getLogger("jopay.webhooks")


def _locked_endpoint(partner: Partner) -> WebhookEndpoint:
    """The partner's endpoint row, created if missing, locked for this transaction.

    Creating it, the partner row is locked first: an event emitted meanwhile
    found no endpoint row to lock and waits on the partner row instead, then
    sees this one once it commits (``events._after_emit``, D24).
    """
    endpoint = WebhookEndpoint.objects.select_for_update().filter(partner=partner)
    if not endpoint.exists():
        list(Partner.objects.select_for_update().filter(pk=partner.pk).values("pk"))
        WebhookEndpoint.objects.get_or_create(partner=partner)
    return endpoint.get()


# D26's check at save resolves the host; a resolver that does not answer in
# this long holds a web worker no longer, and the URL is refused like a host
# that does not resolve (the partner saves again once DNS answers).
SAVE_RESOLVE_SECONDS = 5.0


def _validated_url(url: object) -> str:
    try:
        urlsafety.check_url(url, deadline=time.monotonic() + SAVE_RESOLVE_SECONDS)
    except urlsafety.ResolveTimeoutError:
        raise JoPayError(
            ErrorCode.INVALID_WEBHOOK_URL,
            f"The host did not resolve within {SAVE_RESOLVE_SECONDS:.0f} seconds; "
            "check its DNS and save again.",
            field="url",
        ) from None
    except urlsafety.UnsafeUrlError:
        raise JoPayError(ErrorCode.INVALID_WEBHOOK_URL, field="url") from None
    return str(url)


@transaction.atomic
def webhook_endpoint_set(
    *,
    partner: Partner,
    url: str | None = None,
    enabled: bool | None = None,
    disabled_by: str = WebhookEndpoint.DisabledReason.PARTNER,
) -> tuple[WebhookEndpoint, str | None]:
    """Set the URL and/or ``webhook_enabled``; return ``(endpoint, new_secret)``.

    ``None`` leaves a field unchanged. ``url=""`` removes the URL and switches
    dispatch off. Guarantees:

    * the URL is https and (in production) public, else ``invalid_webhook_url``
      and nothing is written (D26);
    * enabling without a URL → ``webhook_not_configured``, also when the
      same call removes the URL;
    * a new URL starts with no failing streak: the old URL's failures say
      nothing about it (D24's five days count from a failure at this URL);
    * the first enable generates the 256-bit secret, returned here once and
      never again; later calls return ``None`` in its place;
    * (re-)enabling stamps ``enabled_at`` = now: earlier events are never
      delivered (no backfill) and a past failure streak is forgotten;
    * disabling abandons the endpoint's pending deliveries (``endpoint_disabled``)
      and records ``disabled_by`` as the reason: the partner's own switch, or
      staff's (``disabled_by_staff``), which the portal shows as an alert.
    """
    new_url = None if url is None else ("" if url == "" else _validated_url(url))
    endpoint = _locked_endpoint(partner)
    now = timezone.now()
    new_secret = None
    if new_url is not None and new_url != endpoint.url:
        audit_record(
            partner=partner,
            action="webhook.url_changed",
            details={"from": endpoint.url, "to": new_url},
        )
    if new_url is not None:
        if new_url and new_url != endpoint.url:
            endpoint.failing_since = endpoint.slow_since = None
            endpoint.probe_until = None
            _pending_due_now(endpoint, now)
        endpoint.url = new_url
        if not new_url:
            if enabled is True:
                raise JoPayError(ErrorCode.WEBHOOK_NOT_CONFIGURED)
            enabled = False
    if enabled is True and not endpoint.enabled:
        if not endpoint.url:
            raise JoPayError(ErrorCode.WEBHOOK_NOT_CONFIGURED)
        if not endpoint.secret:
            endpoint.secret = new_secret = signing.secret_new()
        endpoint.enabled = True
        endpoint.enabled_at = now
        endpoint.failing_since = endpoint.slow_since = None
        endpoint.probe_until = None
        endpoint.disabled_at = None
        endpoint.disabled_reason = ""
        audit_record(
            partner=partner,
            action="webhook.enabled",
            details={"secret_generated": new_secret is not None},
        )
    elif enabled is False and endpoint.enabled:
        _disable(endpoint, reason=disabled_by, now=now)
    endpoint.save()
    return endpoint, new_secret


# Put on the broker when a new URL commits; a longer backlog is left to the
# sweeper's next tick, so the partner's request does not publish thousands.
SEND_AT_ONCE = 100


def _pending_due_now(endpoint: WebhookEndpoint, now: datetime) -> None:
    """A new URL: the old URL's backoff says nothing about it (D24).

    What is still to be sent goes out now, oldest first, not up to 15 h
    later at its old ``next_attempt_at``: due now in the URL change's
    transaction, and its first ``SEND_AT_ONCE`` sends enqueued on commit (the
    rest without ``enqueued_at``, for the sweeper). How tries count does not
    change. An attempt still in flight to the old URL loses its lease, so its
    answer (a 410, a 400) only fills in its own log row.
    """
    pending = endpoint.deliveries.filter(state=WebhookDelivery.State.PENDING)
    pending.update(next_attempt_at=now, enqueued_at=None, locked_until=None)
    first = list(pending.order_by("created_at", "id")[:SEND_AT_ONCE].only("pk"))
    pending.filter(pk__in=[d.pk for d in first]).update(enqueued_at=now)
    for delivery in first:
        delivery_enqueue_on_commit(delivery)


@transaction.atomic
def webhook_secret_rotate(*, partner: Partner) -> str:
    """Start a rotation and return the new secret (shown once).

    Until ``webhook_rotation_confirm`` both secrets sign every delivery, new
    first (D25). Rotating again before confirming returns the same new
    secret: replacing it dropped a secret receivers may already run with,
    and their 4xx abandons every delivery at once (D24). Raises
    ``webhook_not_configured`` when no secret exists yet.
    """
    endpoint = _locked_endpoint(partner)
    if not endpoint.secret:
        raise JoPayError(ErrorCode.WEBHOOK_NOT_CONFIGURED)
    if endpoint.previous_secret:
        return endpoint.secret  # a rotation is pending: its new secret stands
    endpoint.previous_secret = endpoint.secret
    endpoint.secret = signing.secret_new()
    endpoint.save(update_fields=["secret", "previous_secret", "updated_at"])
    audit_record(partner=partner, action="webhook.secret_rotated")
    return endpoint.secret


def rotation_token(endpoint: WebhookEndpoint) -> str:
    """Names the pending rotation a page shows (a digest of its new secret,
    never the secret), so a confirm says which rotation it means."""
    return hashlib.sha256(f"rotation:{endpoint.secret}".encode()).hexdigest()[:32]


class StaleRotationError(Exception):
    """The rotation pending now is not the one the confirming page showed."""


@transaction.atomic
def webhook_rotation_confirm(*, partner: Partner, token: str = "") -> WebhookEndpoint:
    """End a rotation: from now on only the new secret signs. Idempotent.

    ``token``: the ``rotation_token`` the confirming page showed. When another
    rotation is pending now (another user confirmed that one and rotated
    again), raises ``StaleRotationError`` and confirms nothing: confirming it
    would stop the secret the partner's receiver runs with (D24, D25).
    """
    endpoint = _locked_endpoint(partner)
    if not endpoint.secret:
        raise JoPayError(ErrorCode.WEBHOOK_NOT_CONFIGURED)
    if token and endpoint.previous_secret and token != rotation_token(endpoint):
        raise StaleRotationError
    if endpoint.previous_secret:
        endpoint.previous_secret = ""
        endpoint.save(update_fields=["previous_secret", "updated_at"])
        audit_record(partner=partner, action="webhook.rotation_confirmed")
    return endpoint


def _disable(endpoint: WebhookEndpoint, *, reason: str, now) -> int:
    """Switch dispatch off and abandon pending deliveries; caller holds the row lock.

    Returns how many deliveries were abandoned. The caller saves ``endpoint``.
    """
    endpoint.enabled = False
    endpoint.disabled_at = now
    endpoint.disabled_reason = reason
    audit_record(
        partner=endpoint.partner, action="webhook.disabled", details={"reason": reason}
    )
    return WebhookDelivery.objects.filter(
        endpoint=endpoint, state=WebhookDelivery.State.PENDING
    ).update(
        state=WebhookDelivery.State.ABANDONED,
        next_attempt_at=None,
        locked_until=None,
        abandoned_reason=WebhookDelivery.AbandonedReason.ENDPOINT_DISABLED,
        updated_at=now,
    )


@transaction.atomic
def webhook_endpoint_disable(
    *,
    endpoint_id: int,
    reason: str,
    failing_since: datetime | None = None,
    sent_to: str | None = None,
    sent_at: datetime | None = None,
) -> int:
    """Disable an endpoint for ``reason`` (410, failing too long); see ``_disable``.

    With ``failing_since`` (the streak start an attempt read when it was
    claimed), only if the endpoint still has that streak under the lock: a 2xx
    or a re-enable in the meantime means it is healthy again. With ``sent_to``
    and ``sent_at`` (the attempt's URL and claim time), only if the endpoint
    still has that URL and was not re-enabled after that time.
    """
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint_id)
    if not endpoint.enabled:
        return 0
    if failing_since is not None and endpoint.failing_since != failing_since:
        return 0
    if sent_to is not None and endpoint.url != sent_to:
        return 0
    if sent_at is not None and endpoint.enabled_at and endpoint.enabled_at > sent_at:
        return 0
    now = timezone.now()
    count = _disable(endpoint, reason=reason, now=now)
    endpoint.save()
    # Logged once it holds: a rolled-back disable switched nothing off.
    transaction.on_commit(
        partial(
            logger.warning,
            "webhook endpoint %d (partner %s) switched off: %s; %d pending"
            " deliveries abandoned",
            endpoint.pk,
            endpoint.partner_id,
            reason,
            count,
        )
    )
    return count
