"""Properties of integer money (D13, D14, D15, D19), checked on generated values.

Every conversion is compared with an exact rational oracle (``Fraction``), so a
rounding slip anywhere shows up as a counter-example, not as a cent that
"looks right". No database: these are the pure functions every path uses.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from math import floor

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from merchants.portal.forms import format_major, parse_major
from merchants.portal.fx import format_rate, parse_rate
from payments.chain.verify import from_micro, to_micro
from payments.models.requests import TAG_SPAN
from payments.money import (
    EXPONENTS,
    MAX_FIAT_INT,
    MICRO,
    RATE_MAX,
    RATE_MIN,
    SUPPORTED_CURRENCIES,
    fiat_to_usdc_micro,
    format_minor,
    format_usdc,
    group_usdc,
    rate_in_range,
    rate_to_scaled_int,
    usdc_micro_to_fiat_int,
)
from payments.services.amounts import MAX_BASE

BIGINT_MAX = 2**63 - 1

currencies = st.sampled_from(SUPPORTED_CURRENCIES)
fiat_ints = st.integers(min_value=1, max_value=MAX_FIAT_INT)
# Every rate a feed, set_fx_rate, the portal or the admin can store: 18 places,
# RATE_MIN <= rate < RATE_MAX (money.rate_in_range).
rates = st.integers(
    min_value=int(RATE_MIN * 10**18), max_value=int(RATE_MAX * 10**18) - 1
).map(lambda scaled: Decimal(f"{scaled}e-18"))
# Rates as feeds really give them (a handful of significant digits).
plain_rates = st.decimals(
    min_value=RATE_MIN, max_value=Decimal("999999999.999999"), places=6
)
token_decimals = st.integers(min_value=6, max_value=36)  # configure_chain's range


def oracle(fiat_int: int, currency: str, rate: Decimal) -> int:
    """D14 in exact rationals: floor(fiat / 10**exp / rate * 10**6)."""
    usdc = Fraction(fiat_int, 10 ** EXPONENTS[currency]) / Fraction(rate)
    return floor(usdc * MICRO)


def test_the_exponents_are_those_of_spec_9_1():
    """spec §9.1: 0 for JPY, KRW, CLP, 2 for the other 25; no 3-decimal
    currency (KWD, BHD …) is supported, so none is converted."""
    assert {c for c, e in EXPONENTS.items() if e == 0} == {"JPY", "KRW", "CLP"}
    assert set(EXPONENTS.values()) == {0, 2}
    assert len(SUPPORTED_CURRENCIES) == 28


@given(fiat_ints, currencies, rates)
@example(MAX_FIAT_INT, "JPY", RATE_MIN)  # the largest amount JoPay can compute
@example(1, "EUR", RATE_MAX - Decimal("1e-18"))  # the smallest
def test_conversion_is_the_exact_d14_floor(fiat_int, currency, rate):
    assert fiat_to_usdc_micro(fiat_int, currency, rate) == oracle(
        fiat_int, currency, rate
    )


@given(fiat_ints, currencies, rates)
@example(MAX_FIAT_INT, "JPY", RATE_MIN)
def test_every_accepted_amount_fits_the_bigint_column_with_its_tag(
    fiat_int, currency, rate
):
    """D13 amounts at D14-plausible rates: the base and any D15 tag fit
    ``usdc_micro`` (BIGINT), and the D15 guard never has to refuse one."""
    micro = fiat_to_usdc_micro(fiat_int, currency, rate)
    assert micro >= 0
    base = micro - micro % TAG_SPAN
    assert base + TAG_SPAN - 1 <= BIGINT_MAX
    assert base < MAX_BASE


@given(fiat_ints, fiat_ints, currencies, rates)
def test_conversion_is_monotonic_in_the_amount(a, b, currency, rate):
    low, high = sorted((a, b))
    assert fiat_to_usdc_micro(low, currency, rate) <= fiat_to_usdc_micro(
        high, currency, rate
    )


@given(fiat_ints, currencies, rates, rates)
def test_conversion_is_antitone_in_the_rate(fiat_int, currency, r1, r2):
    """More fiat per USDC → never more USDC for the same fiat."""
    cheap, dear = sorted((r1, r2))
    assert fiat_to_usdc_micro(fiat_int, currency, cheap) >= fiat_to_usdc_micro(
        fiat_int, currency, dear
    )


@given(fiat_ints, currencies, rates)
def test_conversion_rounds_down_by_less_than_one_micro(fiat_int, currency, rate):
    """D14: floor, so the result is at most the exact value and within 1 micro."""
    micro = fiat_to_usdc_micro(fiat_int, currency, rate)
    exact = Fraction(fiat_int, 10 ** EXPONENTS[currency]) / Fraction(rate) * MICRO
    assert micro <= exact < micro + 1


@given(fiat_ints, currencies, rates)
def test_zero_only_when_the_amount_is_below_one_micro(fiat_int, currency, rate):
    micro = fiat_to_usdc_micro(fiat_int, currency, rate)
    worth = Fraction(fiat_int, 10 ** EXPONENTS[currency]) / Fraction(rate) * MICRO
    assert (micro == 0) == (worth < 1)


@given(fiat_ints, currencies, plain_rates)
def test_back_conversion_never_exceeds_the_fiat_it_came_from(fiat_int, currency, rate):
    micro = fiat_to_usdc_micro(fiat_int, currency, rate)
    assert usdc_micro_to_fiat_int(micro, currency, rate) <= fiat_int


@pytest.mark.parametrize("bad", [0, -1, True, 2.5, "2500", None])
def test_conversion_refuses_what_is_not_a_positive_int(bad):
    with pytest.raises(ValueError, match="positive int"):
        fiat_to_usdc_micro(bad, "EUR", Decimal("0.92"))


@given(rates)
def test_every_storable_rate_scales_exactly(rate):
    assert rate_in_range(rate)
    assert rate_to_scaled_int(rate) == Fraction(rate) * 10**18


@given(st.integers(min_value=-(2**63), max_value=2**63 - 1))
@example(0)
@example(1)
@example(999_999)
@example(1_000_000)
def test_usdc_text_round_trips_to_the_integer(micro):
    """The text the pay page asks for is the integer the watcher matches."""
    text = format_usdc(micro)
    frac = text.partition(".")[2]
    assert len(frac) == 6
    assert Decimal(text).scaleb(6) == micro
    assert int(Decimal(text).scaleb(6)) == micro
    assert group_usdc(micro).replace(",", "") == text


@given(st.integers(min_value=-(2**40), max_value=MAX_FIAT_INT), currencies)
def test_fiat_text_round_trips_to_the_minor_units(amount, currency):
    text = format_minor(amount, currency).replace(",", "")
    assert Decimal(text).scaleb(EXPONENTS[currency]) == amount


@given(st.integers(min_value=1, max_value=BIGINT_MAX), token_decimals)
def test_token_units_round_trip_for_every_configurable_decimals(micro, decimals):
    """D19: the EIP-681 uint256 (``from_micro``) scales back to the exact
    ``usdc_micro`` the watcher compares (``to_micro``)."""
    units = from_micro(micro, decimals)
    assert to_micro(units, decimals) == micro
    assert units == micro * 10 ** (decimals - 6)


@given(st.integers(min_value=1, max_value=BIGINT_MAX), token_decimals)
def test_one_unit_less_is_an_underpayment(micro, decimals):
    """Finer than a micro floors: a hair short of the amount is short."""
    assert to_micro(from_micro(micro, decimals) - 1, decimals) == micro - 1


@given(rates)
@example(RATE_MIN)
@example(RATE_MAX - Decimal("1e-18"))
@example(Decimal("150.000000000000000000"))
def test_a_rate_reads_back_exactly_as_shown(rate):
    """The portal and ``GET /api/v1/fx/rates`` show ``format_rate``'s text (no
    exponent); typed back into the override form it is the same rate."""
    text = format_rate(rate)
    assert "E" not in text.upper()
    assert Decimal(text) == rate
    assert parse_rate(text) == rate


@given(fiat_ints, currencies)
def test_a_limit_reads_back_exactly_as_shown(minor, currency):
    """The settings page shows a limit with ``format_major`` and reads the
    same text back with ``parse_major`` (D35: the default currency's units)."""
    assert parse_major(format_major(minor, currency), currency) == minor
