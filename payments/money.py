"""Money: the 28 display currencies and the single fiat → micro-USDC conversion (D14).

Amounts are integers everywhere: fiat in the currency's minor unit
(``fiat_int``), USDC in micro-units (``usdc_micro``). FX rates are ``Decimal``
"fiat units per 1 USDC" with 18 places; they never touch an amount except
inside ``fiat_to_usdc_micro``, which does one exact integer floor division.
"""

from __future__ import annotations

import re
from decimal import Decimal, localcontext

from moneyed import get_currency

# spec §9.1: the 28 supported display currencies.
SUPPORTED_CURRENCIES: tuple[str, ...] = (
    "AED", "ARS", "AUD", "BRL", "CAD", "CHF", "CLP", "CNY", "COP", "CZK",
    "DKK", "EUR", "GBP", "HKD", "HUF", "ILS", "INR", "JPY", "KRW", "MXN",
    "NOK", "NZD", "PEN", "PLN", "SEK", "SGD", "USD", "ZAR",
)  # fmt: skip

# Minor-unit exponents come from ISO 4217 via py-moneyed (sub_unit 100 → 2).
EXPONENTS: dict[str, int] = {
    code: len(str(get_currency(code).sub_unit)) - 1 for code in SUPPORTED_CURRENCIES
}
# spec §9.1: JPY, KRW and CLP are the zero-decimal ones; the rest have cents.
if {c for c, e in EXPONENTS.items() if e == 0} != {"JPY", "KRW", "CLP"} or set(
    EXPONENTS.values()
) != {0, 2}:  # pragma: no cover - guards a library upgrade
    raise RuntimeError("currency exponents disagree with spec §9.1")

RATE_PLACES = 18
RATE_SCALE = 10**RATE_PLACES
MICRO = 10**6
MAX_FIAT_INT = 2_147_483_647
# The largest value of a BIGINT column (usdc_micro, overpaid_micro). A transfer
# can carry more (a uint256): such a value is no request's amount.
BIGINT_MAX = 2**63 - 1
# The plausible range of "fiat units per 1 USDC" for the 28 currencies (today
# from about 0.75 for GBP to about 4 000 for COP), with room for decades of
# drift. A rate outside it is a feed fault or a typo, so feeds and manual
# entries refuse it: it can overflow neither the rate column (numeric(38,18))
# nor an amount (usdc_micro is a BIGINT; at 0.001, 2 147 483 647 JPY is
# 2.1e18 micro-USDC).
RATE_MIN = Decimal("0.001")
RATE_MAX = Decimal(10**9)


def is_supported(code: object) -> bool:
    return isinstance(code, str) and code in EXPONENTS


def exponent(code: str) -> int:
    return EXPONENTS[code]


def rate_in_range(rate: Decimal) -> bool:
    """Whether ``rate`` is a plausible rate of a supported currency (``RATE_MIN``
    up to, not including, ``RATE_MAX``)."""
    return rate.is_finite() and RATE_MIN <= rate < RATE_MAX


# A rate typed by a person (portal, ``set_fx_rate``): ASCII digits and at most
# one point. ``Decimal`` alone reads more: "0_92" (digit groups) is 92, an
# exponent or a sign, so a typo became another, plausible rate.
_RATE_TEXT = re.compile(r"[0-9]+(?:\.[0-9]+)?", re.ASCII)


def rate_from_text(text: str) -> Decimal | None:
    """``"0.92"`` → ``Decimal("0.92")``; ``None`` unless a plain decimal like that."""
    text = (text or "").strip()
    return Decimal(text) if _RATE_TEXT.fullmatch(text) else None


def rate_to_scaled_int(rate: Decimal) -> int:
    """The rate as an integer of 10**-18 units; refuses non-positive or finer rates."""
    if not isinstance(rate, Decimal) or not rate.is_finite() or rate <= 0:
        raise ValueError("an FX rate must be a positive finite Decimal")
    with localcontext() as ctx:
        ctx.prec = 80  # exact for any numeric(38,18) value: no silent rounding
        scaled = rate.scaleb(RATE_PLACES)
    if scaled != scaled.to_integral_value():
        raise ValueError(f"an FX rate has at most {RATE_PLACES} decimal places")
    return int(scaled)


def fiat_to_usdc_micro(fiat_int: int, currency: str, rate: Decimal) -> int:
    """``floor(fiat_int / 10**exp / rate * 10**6)`` as one exact integer division (D14).

    ``rate`` is fiat units per 1 USDC. With the rate scaled to an integer
    ``R = rate * 10**18`` the formula is ``fiat_int * 10**6 * 10**18 //
    (10**exp * R)``: no rounding happens anywhere but that final floor.
    """
    if isinstance(fiat_int, bool) or not isinstance(fiat_int, int) or fiat_int <= 0:
        raise ValueError("fiat_int must be a positive int")
    scaled_rate = rate_to_scaled_int(rate)
    return (fiat_int * MICRO * RATE_SCALE) // (10 ** exponent(currency) * scaled_rate)


def usdc_micro_to_fiat_int(usdc_micro: int, currency: str, rate: Decimal) -> int:
    """The inverse, floored: ``usdc_micro`` in ``currency`` minor units."""
    scaled_rate = rate_to_scaled_int(rate)
    return (usdc_micro * 10 ** exponent(currency) * scaled_rate) // (MICRO * RATE_SCALE)


def format_minor(amount: int, currency: str) -> str:
    """``2500, "EUR"`` → ``"25.00"``; ``500, "JPY"`` → ``"500"`` (display only)."""
    exp = exponent(currency)
    if exp == 0:
        return f"{amount:,}"
    # divmod floors: -1 would read "-1.99"; format the size, then the sign.
    whole, frac = divmod(abs(amount), 10**exp)
    return f"{'-' if amount < 0 else ''}{whole:,}.{frac:0{exp}d}"


def format_usdc(usdc_micro: int) -> str:
    """``27500123`` → ``"27.500123"``: all six places, the exact amount to send."""
    whole, frac = divmod(abs(usdc_micro), MICRO)
    return f"{'-' if usdc_micro < 0 else ''}{whole}.{frac:06d}"


def group_usdc(usdc_micro: int) -> str:
    """``1234567891234`` → ``"1,234,567.891234"``: all six places, the integer
    part grouped by thousands, for reading only.

    What a customer copies or a wallet is given stays ``format_usdc``'s exact
    text (a wallet may refuse the commas, or read them as the decimal point).
    Integers only, like ``format_usdc``; ``static/pay/format.js`` groups the
    script's text the same way (``groupUsdc``), and a test keeps them equal.
    """
    whole, frac = divmod(abs(usdc_micro), MICRO)
    return f"{'-' if usdc_micro < 0 else ''}{whole:,}.{frac:06d}"
