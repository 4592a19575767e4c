"""Payment request and FX reads; API code reaches tenant rows only via these (D10)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from django.conf import settings
from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone

from jopay_project.errors import ErrorCode, JoPayError
from jopay_project.sql import Columns, table
from jopay_project.tenancy import Tenant
from merchants.models import Merchant, Partner

from .models import Chain, FxRate, PaymentRequest


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


def proof_chains(*, test_mode: bool) -> list[Chain]:
    """Chains a proof may name in this mode (D19), for the attach forms."""
    return [
        c
        for c in Chain.objects.filter(enabled=True).order_by("chain_id")
        if c.is_usable and c.accepts(test_mode=test_mode)
    ]


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
    return {
        code: fx_rate_pick(found.get((code, True)), found.get((code, False)))
        for code in currencies
    }


def fx_rate_override_list(*, partner: Partner) -> list[FxRate]:
    """``partner``'s own FX overrides (D31), by currency; never another partner's.

    Overrides belong to the partner, not to a mode: one list for live and test.
    """
    return list(FxRate.objects.filter(partner=partner).order_by("currency"))


def fx_rates_global(currencies: list[str]) -> dict[str, FxRate]:
    """The global row (no partner) of each of ``currencies`` that has one."""
    return {
        row.currency: row
        for row in FxRate.objects.filter(partner__isnull=True, currency__in=currencies)
    }


def fx_rate_pick(override: FxRate | None, global_rate: FxRate | None) -> FxRate | None:
    """The partner's override unless it is stale, else the global rate (D14)."""
    if override is not None and not fx_rate_is_stale(override):
        return override
    return global_rate or override


@dataclass(frozen=True)
class CreateContext:
    """What the create path reads before it writes (one statement, see below)."""

    replay_hash: str | None  # body hash of the request this key already made
    merchant: Merchant | None  # the tenant's merchant, else None (D10)
    fx_rate: FxRate | None  # fx_rate_pick for the merchant's effective currency


@cache
def _create_context_statement() -> tuple[str, Columns, Columns, Columns]:
    merchant, override, global_rate = (
        Columns(Merchant, "m"),
        Columns(FxRate, "fo"),
        Columns(FxRate, "fg"),
    )
    currency = "COALESCE(NULLIF(m.display_currency, ''), %s)"  # D12
    sql = f"""
        SELECT r.idempotency_hash, {merchant.sql}, {override.sql}, {global_rate.sql}
          FROM (SELECT 1 AS one) AS one
          LEFT JOIN {table(PaymentRequest)} r
            ON r.partner_id = %s AND r.test_mode = %s AND r.idempotency_key = %s
          LEFT JOIN {table(Merchant)} m
            ON m.id = %s AND m.partner_id = %s AND m.test_mode = %s
          LEFT JOIN {table(FxRate)} fo
            ON fo.partner_id = %s AND fo.currency = {currency}
          LEFT JOIN {table(FxRate)} fg
            ON fg.partner_id IS NULL AND fg.currency = {currency}
    """  # noqa: S608 (model names only)
    return sql, merchant, override, global_rate


def payment_request_create_context(
    *, tenant: Tenant, idempotency_key: str | None, merchant_id: uuid.UUID | None
) -> CreateContext:
    """The create path's reads in one prepared statement (D10, D12, D14, D17).

    Equivalent to ``payment_request_replay`` (hash only), ``merchant_get``
    (None instead of raising) and ``fx_rates_effective`` for the merchant's
    effective currency, which is what the create path needs on every call;
    written by hand because those three ORM queries were most of its cost
    (``bench/api_create.py``). A ``None`` key or merchant id matches nothing.
    """
    sql, merchant_cols, override_cols, global_cols = _create_context_statement()
    partner = tenant.partner
    partner_id = Partner._meta.pk.get_db_prep_value(partner.pk, connection)
    merchant_pk = Merchant._meta.pk.get_db_prep_value(merchant_id, connection)
    params = [
        partner_id, tenant.test_mode, idempotency_key,
        merchant_pk, partner_id, tenant.test_mode,
        partner_id, partner.default_currency,
        partner.default_currency,
    ]  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    start = 1
    merchant = rates = None
    if row[start] is not None:
        merchant = merchant_cols.instance(row[start : start + merchant_cols.width])
        merchant.partner = partner
    start += merchant_cols.width
    override = global_rate = None
    if row[start] is not None:
        override = override_cols.instance(row[start : start + override_cols.width])
    start += override_cols.width
    if row[start] is not None:
        global_rate = global_cols.instance(row[start : start + global_cols.width])
    rates = fx_rate_pick(override, global_rate) if merchant is not None else None
    return CreateContext(replay_hash=row[0], merchant=merchant, fx_rate=rates)
