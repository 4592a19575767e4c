"""From a fiat amount to the exact USDC amount a payer sends (D13-D15, D35)."""

from __future__ import annotations

import secrets
from datetime import datetime

from django.db import connection

from jopay_project.errors import ErrorCode, JoPayError
from jopay_project.sql import pipelined, table
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


def amount_lock_taken(*, address: str, base: int, now: datetime) -> set[int]:
    """Lock ``address`` for tag choice (D15), then read its tags of ``base`` in use.

    Call inside a transaction; the lock holds until it commits. Two
    statements, one round trip on PostgreSQL (pipelined):

    1. one upsert both makes sure the ``AmountLock`` row exists and locks it
       (``ON CONFLICT DO UPDATE`` takes the row lock, also when a concurrent
       first create for the same wallet inserted it a moment before), so two
       creates for the same wallet, from any partner or mode, serialise;
    2. the read is its own statement, so its snapshot is taken after the lock
       was granted and sees every create that committed meanwhile.

    In use = the request is open (requested/opened), or its proof window
    (``expires_at`` + 10 min grace, D20) has not closed yet: a late transfer
    must still match exactly one request. SQLite (the embedded default) runs
    the same statements and serialises writers anyway.
    """
    grace_ends_after = PaymentRequest._meta.get_field("expires_at").get_db_prep_value(
        now - PROOF_GRACE, connection
    )
    requested, opened = (status.value for status in PaymentRequest.OPEN_STATUSES)
    with connection.cursor() as lock, connection.cursor() as read:
        with pipelined():
            lock.execute(
                f"INSERT INTO {table(AmountLock)} (address) VALUES (%s) "  # noqa: S608
                "ON CONFLICT (address) DO UPDATE SET address = EXCLUDED.address",
                [address],
            )
            read.execute(
                f"SELECT usdc_micro FROM {table(PaymentRequest)} "  # noqa: S608
                "WHERE receiving_address = %s AND usdc_micro >= %s "
                "AND usdc_micro < %s AND (status IN (%s, %s) OR expires_at > %s)",
                [address, base, base + TAG_SPAN, requested, opened, grace_ends_after],
            )
        return {amount - base for (amount,) in read.fetchall()}


def amount_pick_unique(*, base: int, taken: set[int]) -> int:
    """The final ``usdc_micro``: ``base`` plus a tag not in ``taken`` (D15).

    The search starts at a random tag and walks all 1 000 at most once, so the
    tag is not guessable and the search is bounded. The total is never 0
    (``base`` ≥ 1 000). Raises ``amount_unavailable`` when every tag is taken.
    """
    start = secrets.randbelow(TAG_SPAN)
    for step in range(TAG_SPAN):
        tag = (start + step) % TAG_SPAN
        if tag not in taken:
            return base + tag
    raise JoPayError(ErrorCode.AMOUNT_UNAVAILABLE)
