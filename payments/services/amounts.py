"""From a fiat amount to the exact USDC amount a payer sends (D13-D15, D35)."""

from __future__ import annotations

from jopay_project.errors import ErrorCode, JoPayError
from merchants.models import Partner
from payments.models.requests import TAG_SPAN
from payments.money import fiat_to_usdc_micro, format_minor

from .fx import fx_rate_for


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
            raise _outside_limit(ErrorCode.AMOUNT_BELOW_MINIMUM, low, default)
        if high is not None and fiat_int > high:
            raise _outside_limit(ErrorCode.AMOUNT_EXCEEDS_MAX, high, default)
        return
    if not low and high is None:
        return
    if usdc_micro is None:
        usdc_micro = fiat_to_usdc_micro(
            fiat_int, currency, fx_rate_for(partner, currency).rate
        )
    default_rate = fx_rate_for(partner, default).rate
    if low and usdc_micro < fiat_to_usdc_micro(low, default, default_rate):
        raise _outside_limit(ErrorCode.AMOUNT_BELOW_MINIMUM, low, default, currency)
    # A zero maximum would make fiat_to_usdc_micro refuse; nothing passes it anyway.
    if high is not None and (
        high == 0 or usdc_micro > fiat_to_usdc_micro(high, default, default_rate)
    ):
        raise _outside_limit(ErrorCode.AMOUNT_EXCEEDS_MAX, high, default, currency)


def _outside_limit(
    code: ErrorCode, limit: int, default: str, currency: str | None = None
) -> JoPayError:
    """The refusal, naming the limit in the default currency it is set in."""
    which = "minimum" if code == ErrorCode.AMOUNT_BELOW_MINIMUM else "maximum"
    message = f"The amount is {'below' if which == 'minimum' else 'above'} your"
    message += f" per-request {which} of {format_minor(limit, default)} {default}"
    if currency is not None:
        message += f" (compared with this {currency} amount at today's USDC rates)"
    return JoPayError(code, message + ".")


# usdc_micro is a BIGINT: the base plus any tag must fit it. Rates are bounded
# (money.RATE_MIN) so no conversion reaches this, but a rate stored before
# they were must answer a code from the table, not overflow into a 500.
MAX_BASE = 2**63 - TAG_SPAN


def amount_base(usdc_micro: int) -> int:
    """Round down to a multiple of 1 000 micro-USDC; at least 1 000 (D15)."""
    base = usdc_micro - usdc_micro % TAG_SPAN
    if base < TAG_SPAN:
        raise JoPayError(
            ErrorCode.AMOUNT_BELOW_MINIMUM,
            "The amount is less than 0.001 USDC at today's rate.",
        )
    if base >= MAX_BASE:
        raise JoPayError(ErrorCode.AMOUNT_EXCEEDS_MAX)
    return base
