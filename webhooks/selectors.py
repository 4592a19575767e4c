"""Webhook reads. API and portal code reach tenant rows via ``for_tenant`` (D10)."""

from __future__ import annotations

import uuid

from django.db.models import Prefetch, QuerySet

from jopay_project.errors import ErrorCode, JoPayError
from jopay_project.tenancy import Tenant
from merchants.models import Partner

from .models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent


def webhook_endpoint_get(*, partner: Partner) -> WebhookEndpoint | None:
    """The partner's endpoint, or ``None`` before anything was configured."""
    return WebhookEndpoint.objects.filter(partner=partner).first()


def _with_deliveries(qs: QuerySet[WebhookEvent]) -> QuerySet[WebhookEvent]:
    attempts = WebhookAttempt.objects.order_by("number")
    deliveries = WebhookDelivery.objects.order_by("created_at", "id").prefetch_related(
        Prefetch("attempt_log", queryset=attempts)
    )
    return qs.prefetch_related(Prefetch("deliveries", queryset=deliveries))


def event_list(
    *, tenant: Tenant, request_id: uuid.UUID | None = None, type: str | None = None
) -> QuerySet[WebhookEvent]:
    """The tenant's events of the last 30 days with deliveries and attempts prefetched.

    Filters are exact. Ordering and paging are the pager's business.
    """
    qs = _kept(tenant)
    if request_id is not None:
        qs = qs.filter(request_id=request_id)
    if type is not None:
        qs = qs.filter(type=type)
    return _with_deliveries(qs)


def _kept(tenant: Tenant) -> QuerySet[WebhookEvent]:
    """The tenant's events of the last 30 days (D35/D36): an older one is gone
    everywhere a partner looks, whether or not the purge has reached it."""
    since = WebhookEvent.kept_since()
    return WebhookEvent.objects.for_tenant(tenant).filter(created_at__gte=since)


def event_find(*, tenant: Tenant, event_id: uuid.UUID) -> WebhookEvent | None:
    """The tenant's event of the last 30 days, or ``None``."""
    return _kept(tenant).filter(pk=event_id).first()


def event_get(*, tenant: Tenant, event_id: uuid.UUID) -> WebhookEvent:
    """The tenant's event of the last 30 days, else ``not_found`` (foreign, other
    mode, older, missing alike)."""
    event = event_find(tenant=tenant, event_id=event_id)
    if event is None:
        raise JoPayError(ErrorCode.NOT_FOUND)
    return event


def delivery_list(*, tenant: Tenant) -> QuerySet[WebhookDelivery]:
    """The tenant's deliveries, newest first, with their event (portal delivery log)."""
    return (
        WebhookDelivery.objects.for_tenant(tenant)
        .select_related("event")
        .order_by("-created_at", "-id")
    )
