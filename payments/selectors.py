"""Payment request and FX reads; API code reaches tenant rows only via these (D10)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q, QuerySet
from django.utils import timezone

from jopay_project.errors import ErrorCode, JoPayError
from jopay_project.tenancy import Tenant
from merchants.models import Partner

from .models import FxRate, PaymentRequest


def payment_request_get(*, tenant: Tenant, request_id: uuid.UUID) -> PaymentRequest:
    """The tenant's request, or ``not_found``: foreign, other-mode and missing alike."""
    request = PaymentRequest.objects.for_tenant(tenant).filter(pk=request_id).first()
    if request is None:
        raise JoPayError(ErrorCode.NOT_FOUND)
    return request


def payment_request_list(
    *,
    tenant: Tenant,
    merchant_id: uuid.UUID | None = None,
    status: str | None = None,
    proof_status: str | None = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
) -> QuerySet[PaymentRequest]:
    """The tenant's requests, filtered; ``created_after`` inclusive, ``created_before``
    exclusive (D34). Ordering and paging are ``keyset_page``'s business (D18)."""
    qs = PaymentRequest.objects.for_tenant(tenant)
    if merchant_id is not None:
        qs = qs.filter(merchant_id=merchant_id)
    if status is not None:
        qs = qs.filter(status=status)
    if proof_status is not None:
        qs = qs.filter(proof_status=proof_status)
    if created_after is not None:
        qs = qs.filter(created_at__gte=created_after)
    if created_before is not None:
        qs = qs.filter(created_at__lt=created_before)
    return qs


def fx_rate_is_stale(rate: FxRate, *, now: datetime | None = None) -> bool:
    """Pinned (manual) rates never go stale; others after 24 h (D14, D36)."""
    if rate.pinned:
        return False
    now = now or timezone.now()
    return rate.fetched_at < now - timedelta(
        seconds=settings.JOPAY_FX_STALE_AFTER_SECONDS
    )


def fx_rates_effective(
    partner: Partner | None, currencies: list[str]
) -> dict[str, FxRate | None]:
    """Per currency: the partner's usable override, else the global row, else None.

    The result may be stale (the FX endpoint reports it with ``stale: true``);
    ``services.fx.fx_rate_for`` is the strict reader request creation uses. A
    stale override falls back to the global rate rather than hiding it.
    """
    scope = Q(partner__isnull=True)
    if partner is not None:
        scope |= Q(partner=partner)
    found: dict[tuple[str, bool], FxRate] = {
        (row.currency, row.partner_id is not None): row
        for row in FxRate.objects.filter(scope, currency__in=currencies)
    }
    result: dict[str, FxRate | None] = {}
    for currency in currencies:
        override, global_rate = (
            found.get((currency, True)),
            found.get((currency, False)),
        )
        if override is not None and not fx_rate_is_stale(override):
            result[currency] = override
        else:
            result[currency] = global_rate or override
    return result
