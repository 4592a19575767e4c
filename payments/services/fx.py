"""FX rates (D14, D31, D36): the rate a request uses and manual pins.

The feeds' refresh is in ``refresh``.

A rate is "fiat units per 1 USDC" (``Decimal``, 18 places). Each currency has
one global row and optional per-partner override rows. Manual rates
(``source="manual"``) are pinned: feeds never overwrite them and they never go
stale. Any other rate older than ``JOPAY_FX_STALE_AFTER_SECONDS`` (24 h) is
unusable, and so is a missing one: both answer ``fx_unavailable``.
"""

from __future__ import annotations

import logging
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from jopay_project.errors import ErrorCode, JoPayError
from merchants.audit import audit_record
from merchants.models import Partner
from payments.models import FxRate
from payments.money import (
    RATE_MAX,
    RATE_MIN,
    is_supported,
    rate_in_range,
    rate_to_scaled_int,
)
from payments.selectors import fx_rate_is_stale, fx_rates_effective

logger = logging.getLogger("jopay.fx")

MANUAL_SOURCE = "manual"


def fx_rate_for(partner: Partner | None, currency: str) -> FxRate:
    """The usable rate for ``currency``: partner override first, else global (D14).

    Raises ``JoPayError(fx_unavailable)`` when there is none or it is stale.
    """
    return fx_rate_usable(fx_rates_effective(partner, [currency])[currency])


def fx_rate_usable(rate: FxRate | None) -> FxRate:
    """``rate`` when it exists and is not stale, else ``fx_unavailable`` (D14, D36)."""
    if rate is None or fx_rate_is_stale(rate):
        raise JoPayError(ErrorCode.FX_UNAVAILABLE)
    return rate


def _check_manual(currency: str, rate: Decimal) -> None:
    if not is_supported(currency):
        raise ValueError(f"{currency!r} is not one of the 28 supported currencies")
    try:
        rate_to_scaled_int(rate)  # positive, finite, at most 18 places, else ValueError
        plausible = rate_in_range(rate)
    except ArithmeticError:
        # D31: scaling 1e999999999 by 10**18 raised decimal.Overflow, a
        # traceback out of set_fx_rate instead of its one-line error. Such a
        # rate is far out of range; so is 1e-999999999, which scales to 0.
        plausible = False
    if not plausible:
        raise ValueError(
            f"{rate} is not a plausible rate: at least {RATE_MIN} and below {RATE_MAX} "
            "fiat units per USDC"
        )


# Namespace of the advisory lock that serialises writes of rate rows (tags.py
# uses 0x4A50 for receiving addresses).
FX_LOCK_CLASS = 0x4A51


def lock_rate_writes() -> None:
    """Serialise this transaction's rate writes with every other one's.

    Row locks cannot guard a row that does not exist yet: two refreshes (or a
    refresh and ``set_fx_rate``) adding the same currency both INSERTed, and
    the loser's unique-index error crashed its refresh. Held until commit.
    SQLite allows one writer at a time anyway.
    """
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, 0)", [FX_LOCK_CLASS])


# A manual rate this far from the global one is more likely a typo (or the
# inverse: USD per EUR for EUR per USDC) than a market: the portal and the
# admin ask for a second look before pinning it.
RATE_CHECK_TOLERANCE = Decimal("0.10")


def fx_rate_needs_second_look(*, currency: str, rate: Decimal) -> Decimal | None:
    """How far ``rate`` is from the global rate (0.3 = 30 %) when that is more
    than ``RATE_CHECK_TOLERANCE``; else (or with no global rate) ``None``.

    The portal's and the admin's manual-rate forms ask for a tick then.
    """
    reference = (
        FxRate.objects.filter(currency=currency, partner__isnull=True)
        .values_list("rate", flat=True)
        .first()
    )
    if not reference:
        return None
    off = abs(rate / reference - 1)
    return off if off > RATE_CHECK_TOLERANCE else None


@transaction.atomic
def fx_rate_set_manual(
    *, currency: str, rate: Decimal, partner: Partner | None = None
) -> FxRate:
    """Store a pinned manual rate (global, or ``partner``'s override) (D31).

    Raises ``ValueError`` for an unsupported currency or a rate that is not a
    positive ``Decimal`` with at most 18 places. Feeds never overwrite it.
    """
    _check_manual(currency, rate)
    lock_rate_writes()
    row, _ = FxRate.objects.select_for_update().update_or_create(
        currency=currency,
        partner=partner,
        defaults={
            "rate": rate,
            "source": MANUAL_SOURCE,
            "pinned": True,
            "fetched_at": timezone.now(),
        },
    )
    audit_record(
        partner=partner,
        action="fx_rate.pinned",
        target=currency,
        details={"rate": str(rate)},
    )
    return row


@transaction.atomic
def fx_rate_clear_manual(*, currency: str, partner: Partner | None = None) -> bool:
    """Undo ``fx_rate_set_manual``; returns whether there was a pin to clear.

    A partner override is deleted: the partner gets the global rate again, the
    one every other partner has been using meanwhile. The global row is
    unpinned but kept, with ``fetched_at`` set to now: the pin was in force
    until this moment, so the rate stays usable for the next 24 h (or until a
    refresh overwrites it), however old the pin was. Clearing a global pin
    therefore never opens a gap (D14).
    """
    if not is_supported(currency):
        raise ValueError(f"{currency!r} is not one of the 28 supported currencies")
    if partner is not None:
        cleared = (
            FxRate.objects.filter(currency=currency, partner=partner).delete()[0] > 0
        )
    else:
        # fetched_at = now: a pin set three days ago kept its fetched_at, so the
        # unpinned rate was stale at once and every create answered fx_unavailable.
        cleared = (
            FxRate.objects.filter(
                currency=currency, partner__isnull=True, pinned=True
            ).update(pinned=False, fetched_at=timezone.now())
            > 0
        )
    if cleared:
        audit_record(partner=partner, action="fx_rate.unpinned", target=currency)
    return cleared
