"""Webhook reads. API and portal code reach tenant rows via ``for_tenant`` (D10)."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.db.models import Prefetch, QuerySet
from django.utils import timezone

from jopay_project.errors import ErrorCode, JoPayError
from jopay_project.tenancy import Tenant
from merchants.models import Partner

from .models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent

EVENTS_LISTED_DAYS = 30  # D35/D36: the events API shows the last 30 days


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
    since = timezone.now() - timedelta(days=EVENTS_LISTED_DAYS)
    qs = WebhookEvent.objects.for_tenant(tenant).filter(created_at__gte=since)
    if request_id is not None:
        qs = qs.filter(request_id=request_id)
    if type is not None:
        qs = qs.filter(type=type)
    return _with_deliveries(qs)


def event_get(*, tenant: Tenant, event_id: uuid.UUID) -> WebhookEvent:
    """The tenant's event, else ``not_found`` (foreign, other mode, missing alike)."""
    event = WebhookEvent.objects.for_tenant(tenant).filter(pk=event_id).first()
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
