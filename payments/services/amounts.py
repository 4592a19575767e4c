"""From a fiat amount to the exact USDC amount a payer sends (D13-D15, D35)."""

from __future__ import annotations

import secrets
from datetime import datetime

from django.db import connection
from django.db.models import Q

from jopay_project.errors import ErrorCode, JoPayError
from merchants.models import Partner
from payments.models import AmountLock, PaymentRequest
from payments.models.requests import PROOF_GRACE
from payments.money import fiat_to_usdc_micro

from .fx import fx_rate_for

TAG_SPAN = 1000  # D15: the last three digits of usdc_micro (below 0.001 USDC)


def amount_check_limits(
    *, partner: Partner, fiat_int: int, currency: str, usdc_micro: int | None = None
) -> None:
    """Refuse amounts outside the partner's per-request bounds (D13, D35).

    The bounds are minor units of the partner's default currency. A request in
    that currency compares directly; one in another currency compares after
    converting both sides to micro-USDC through the current rates (so this can
    raise ``fx_unavailable`` for the default currency's rate too).
    Raises ``amount_below_minimum`` / ``amount_exceeds_max``.
    """
    low, high = partner.min_fiat_per_request, partner.max_fiat_per_request
    default = partner.default_currency
    if currency == default:
        if low and fiat_int < low:
            raise JoPayError(ErrorCode.AMOUNT_BELOW_MINIMUM)
        if high is not None and fiat_int > high:
            raise JoPayError(ErrorCode.AMOUNT_EXCEEDS_MAX)
        return
    if not low and high is None:
        return
    if usdc_micro is None:
        usdc_micro = fiat_to_usdc_micro(
            fiat_int, currency, fx_rate_for(partner, currency).rate
        )
    default_rate = fx_rate_for(partner, default).rate
    if low and usdc_micro < fiat_to_usdc_micro(low, default, default_rate):
        raise JoPayError(ErrorCode.AMOUNT_BELOW_MINIMUM)
    # A zero maximum would make fiat_to_usdc_micro refuse; nothing passes it anyway.
    if high is not None and (
        high == 0 or usdc_micro > fiat_to_usdc_micro(high, default, default_rate)
    ):
        raise JoPayError(ErrorCode.AMOUNT_EXCEEDS_MAX)


def amount_base(usdc_micro: int) -> int:
    """Round down to a multiple of 1 000 micro-USDC; at least 1 000 (D15)."""
    base = usdc_micro - usdc_micro % TAG_SPAN
    if base < TAG_SPAN:
        raise JoPayError(ErrorCode.AMOUNT_BELOW_MINIMUM)
    return base


def amount_lock(address: str) -> None:
    """Serialise tag choice for one receiving address (D15). Call inside a transaction.

    One upsert both makes sure the row exists and locks it until the caller
    commits (``ON CONFLICT DO UPDATE`` takes the row lock, also when a
    concurrent first create for the same wallet inserted it a moment before),
    so two creates for the same wallet, from any partner or mode, cannot see
    the same free tag. SQLite (the embedded default) supports the same
    statement and serialises writers anyway.
    """
    table = connection.ops.quote_name(AmountLock._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (address) VALUES (%s) "  # noqa: S608 (quoted name)
            "ON CONFLICT (address) DO UPDATE SET address = EXCLUDED.address",
            [address],
        )


def amount_taken_tags(*, address: str, base: int, now: datetime) -> set[int]:
    """Tags of ``base`` already in use at ``address``, across all partners and modes.

    In use = the request is open (requested/opened), or its proof window
    (``expires_at`` + 10 min grace, D20) has not closed yet: a late transfer
    must still match exactly one request.
    """
    amounts = PaymentRequest.objects.filter(
        Q(status__in=PaymentRequest.OPEN_STATUSES)
        | Q(expires_at__gt=now - PROOF_GRACE),
        receiving_address=address,
        usdc_micro__gte=base,
        usdc_micro__lt=base + TAG_SPAN,
    ).values_list("usdc_micro", flat=True)
    return {amount - base for amount in amounts}


def amount_pick_unique(*, address: str, base: int, now: datetime) -> int:
    """The final ``usdc_micro``: ``base`` plus a free tag (D15).

    The caller holds ``amount_lock(address)``.

    The search starts at a random tag and walks all 1 000 at most once, so the
    tag is not guessable and the search is bounded. The total is never 0
    (``base`` ≥ 1 000). Raises ``amount_unavailable`` when every tag is taken.
    """
    taken = amount_taken_tags(address=address, base=base, now=now)
    start = secrets.randbelow(TAG_SPAN)
    for step in range(TAG_SPAN):
        tag = (start + step) % TAG_SPAN
        if tag not in taken:
            return base + tag
    raise JoPayError(ErrorCode.AMOUNT_UNAVAILABLE)
