"""What every adapter returns, and the one way rates are normalised."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation, localcontext

from payments.money import (
    RATE_MAX,
    RATE_MIN,
    RATE_PLACES,
    SUPPORTED_CURRENCIES,
    rate_in_range,
)

_QUANTUM = Decimal(1).scaleb(-RATE_PLACES)

# What a rate written as text may look like: ASCII digits, one optional point,
# an optional exponent. ``Decimal`` alone reads more: digit-group underscores
# ("0_92" is 92) and every Unicode digit ("٠.٩٢" is 0.92), so a malformed
# string became another, plausible rate.
_PLAIN_DECIMAL = re.compile(
    r"\s*(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?\s*", re.ASCII
)


class FeedError(Exception):
    """A feed could not be fetched or parsed; the caller tries the next one."""


@dataclass(frozen=True)
class FeedRates:
    """Fiat units per 1 USD(C) for the supported currencies one feed provided."""

    source: str  # e.g. "ecb:www.ecb.europa.eu", recorded on every rate it sets
    rates: dict[str, Decimal] = field(default_factory=dict)


def normalise_rate(value: object) -> Decimal:
    """A positive finite ``Decimal`` quantised to 18 places, else ``FeedError``.

    Rounding happens here once (half-even, with enough precision that the
    quantisation is the only rounding); bools and floats are refused so a
    float can never sneak into money maths, and text must be a plain ASCII
    decimal (``_PLAIN_DECIMAL``), never one ``Decimal`` would reinterpret.
    """
    plain = isinstance(value, Decimal | int) and not isinstance(value, bool)
    if not plain and not (isinstance(value, str) and _PLAIN_DECIMAL.fullmatch(value)):
        raise FeedError(f"rate {value!r} is not a decimal number")
    try:
        rate = Decimal(value)
    except InvalidOperation:  # an exponent past Decimal's limits ("1e9…9")
        raise FeedError(f"rate {value!r} is out of range") from None
    if not rate.is_finite() or rate <= 0:
        raise FeedError(f"rate {value!r} is not positive")
    try:
        with localcontext() as ctx:
            ctx.prec = 60
            quantised = rate.quantize(_QUANTUM, rounding=ROUND_HALF_EVEN)
    except InvalidOperation:  # more digits than the precision holds (≥ 1e42)
        raise FeedError(f"rate {value!r} is out of range") from None
    if quantised <= 0:
        raise FeedError(f"rate {value!r} rounds to zero")
    return quantised


def table_put(table: dict[str, Decimal], code: str, value: object) -> None:
    """Add a supported currency's rate to ``table``, read by ``normalise_rate``.

    A table naming one currency twice ("EUR" and "eur", two cubes) with two
    rates is a ``FeedError``: whichever came last used to win.
    """
    code = code.upper()
    rate = normalise_rate(value)
    if table.setdefault(code, rate) != rate:
        raise FeedError(f"the feed gives {code} twice, as {table[code]} and {rate}")


def supported_entry(code: object) -> bool:
    """Whether a feed's table entry is worth parsing: only the supported codes
    are (USD among them), so junk for a currency JoPay does not use cannot
    sink the whole answer."""
    return isinstance(code, str) and code.upper() in SUPPORTED_CURRENCIES


def per_usd(table: dict[str, Decimal], base: str) -> dict[str, Decimal]:
    """Re-base "units per 1 ``base``" to "units per 1 USD", supported codes only.

    ``units_per_usd(c) = table[c] / table["USD"]``, with ``table[base] = 1``;
    computed in one high-precision division per currency, then quantised. A
    result outside the plausible range (``money.RATE_MIN`` … ``RATE_MAX``)
    makes the whole answer a ``FeedError``: a feed that is wrong about one
    currency is not trusted for the others, and the next feed is asked.
    """
    if table.get(base, 1) != 1:
        # A table that prices its own base at anything but 1 contradicts itself.
        raise FeedError(f"the feed gives its base {base} as {table[base]}, not 1")
    table = {**table, base: Decimal(1)}
    usd = table.get("USD")
    if usd is None:
        raise FeedError(f"a {base}-based feed without a USD rate cannot be used")
    result: dict[str, Decimal] = {}
    with localcontext() as ctx:
        ctx.prec = 60
        for code in SUPPORTED_CURRENCIES:
            if code in table:
                result[code] = rate = normalise_rate(table[code] / usd)
                if not rate_in_range(rate):
                    raise FeedError(
                        f"{code} at {rate} per USD is outside {RATE_MIN}…{RATE_MAX}"
                    )
    result["USD"] = Decimal(1).quantize(_QUANTUM)
    return result
