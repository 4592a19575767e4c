"""POST /api/v1/requests/create over generated amounts, currencies and rates.

Properties (D13, D14, D15, D35, errors.md): every amount the API accepts is
stored as the exact D14 floor rounded down to 1 000 plus a tag below 1 000;
every amount it cannot take is refused with a registry code, never a 500.
"""

from __future__ import annotations

import json
from decimal import Decimal
from fractions import Fraction
from math import floor

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from jopay_project.errors import ErrorCode
from payments.models import FxRate, PaymentRequest
from payments.models.requests import TAG_SPAN
from payments.money import (
    EXPONENTS,
    MAX_FIAT_INT,
    MICRO,
    RATE_MAX,
    RATE_MIN,
    SUPPORTED_CURRENCIES,
)
from payments.services.fx import fx_rate_set_manual
from tests.factories import MerchantFactory

# Bounded and reproducible for CI; the example database would be written
# into the checkout.
PROPERTY = settings(
    max_examples=60,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

rates = st.integers(
    min_value=int(RATE_MIN * 10**18), max_value=int(RATE_MAX * 10**18) - 1
).map(lambda scaled: Decimal(f"{scaled}e-18"))
realistic_rates = st.decimals(
    min_value=Decimal("0.5"), max_value=Decimal(5000), places=6
)


@pytest.fixture
def alice(partner, merchant):
    """Alice with every currency enabled, no limits in the way, and room in
    the rate limit for a few hundred creates."""
    partner.enabled_currencies = list(SUPPORTED_CURRENCIES)
    partner.min_fiat_per_request = 1
    partner.max_fiat_per_request = None
    partner.rate_limit_overrides = {"requests.create": "100000/m"}
    partner.save()
    return partner


def set_rate(currency: str, rate: Decimal) -> None:
    FxRate.objects.update_or_create(
        currency=currency,
        partner=None,
        defaults={"rate": rate, "source": "test-feed", "pinned": True},
    )


def price_in(partner, merchant, currency: str, rate: Decimal) -> None:
    """The partner's default currency, the merchant's and its rate: ``currency``."""
    partner.default_currency = currency
    partner.save(update_fields=["default_currency"])
    merchant.display_currency = currency
    merchant.save(update_fields=["display_currency"])
    set_rate(currency, rate)


def d14(fiat_int: int, currency: str, rate: Decimal) -> int:
    return floor(Fraction(fiat_int, 10 ** EXPONENTS[currency]) / Fraction(rate) * MICRO)


def post_raw(client, merchant, amount_json: str, **fields):
    body = json.dumps({"merchant_id": str(merchant.pk), **fields})
    body = body[:-1] + f', "fiat_amount_int": {amount_json}}}'
    return client.post("/api/v1/requests/create", body, content_type="application/json")


@PROPERTY
@given(
    currency=st.sampled_from(SUPPORTED_CURRENCIES),
    rate=st.one_of(rates, realistic_rates),
    fiat_int=st.integers(min_value=1, max_value=MAX_FIAT_INT),
)
@example(currency="JPY", rate=RATE_MIN, fiat_int=MAX_FIAT_INT)
@example(currency="EUR", rate=RATE_MAX - Decimal("1e-18"), fiat_int=1)
@example(currency="EUR", rate=Decimal(1), fiat_int=1)  # 0.01 USDC
@example(currency="KRW", rate=Decimal(1000), fiat_int=1)  # exactly 0.001 USDC
@example(currency="KRW", rate=Decimal("1000.000000000000000001"), fiat_int=1)
def test_an_accepted_amount_is_the_d14_floor_plus_a_d15_tag(
    api, alice, merchant, currency, rate, fiat_int
):
    price_in(alice, merchant, currency, rate)

    response = post_raw(api, merchant, str(fiat_int))

    exact = d14(fiat_int, currency, rate)
    if exact < TAG_SPAN:
        # D15: below 0.001 USDC no base is left for a tag.
        assert response.status_code == 400, response.json()
        assert response.json()["error"] == ErrorCode.AMOUNT_BELOW_MINIMUM
        return
    assert response.status_code == 201, response.json()
    body = response.json()
    usdc_micro = int(body["amount"]["usdc_micro"])
    assert body["amount"]["usdc_micro"] == str(usdc_micro)  # digits only
    assert body["amount"] == {
        "fiat_int": fiat_int,
        "fiat_code": currency,
        "usdc_micro": str(usdc_micro),
    }
    assert usdc_micro - usdc_micro % TAG_SPAN == exact - exact % TAG_SPAN
    stored = PaymentRequest.objects.get(pk=body["request_id"])
    assert (stored.usdc_micro, stored.fiat_int, stored.fx_rate) == (
        usdc_micro,
        fiat_int,
        rate,
    )


ODD_AMOUNTS = [
    "true", "false", "null", '"2500"', "[2500]", '{"v": 2500}',
    "2500.0", "2.5e3", "1e400", "-0", "0", "1" + "0" * 5000,
    "2147483647", "2147483648", "9223372036854775807",
    "9223372036854775808", "-9223372036854775809",
]  # fmt: skip
# Every JSON value a client might send as an amount, the valid range included.
amount_literals = st.one_of(
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.integers(min_value=-3, max_value=MAX_FIAT_INT + 3).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(json.dumps),
    st.sampled_from(ODD_AMOUNTS),
)


@PROPERTY
@given(literal=amount_literals)
def test_an_amount_is_accepted_only_as_a_d13_integer(api, alice, merchant, literal):
    """D13: a JSON integer in 1 … 2 147 483 647, else ``invalid_amount``."""
    set_rate("EUR", Decimal("0.92"))
    alice.default_currency = "EUR"
    alice.save(update_fields=["default_currency"])

    response = post_raw(api, merchant, literal)

    value = json.loads(literal) if len(literal) < 4000 else None
    valid = (
        type(value) is int and 1 <= value <= MAX_FIAT_INT and "." not in literal
    ) and "e" not in literal.lower()
    if valid:
        assert response.status_code == 201, response.json()
        assert response.json()["amount"]["fiat_int"] == value
    else:
        assert response.status_code == 400, (literal, response.content[:200])
        assert response.json()["error"] == ErrorCode.INVALID_AMOUNT


limits = st.integers(min_value=1, max_value=MAX_FIAT_INT)


@PROPERTY
@given(
    default=st.sampled_from(SUPPORTED_CURRENCIES),
    currency=st.sampled_from(SUPPORTED_CURRENCIES),
    default_rate=realistic_rates,
    rate=realistic_rates,
    low=limits,
    high=st.one_of(st.none(), limits),
    fiat_int=st.integers(min_value=1, max_value=MAX_FIAT_INT),
)
def test_limits_are_read_in_the_default_currency(
    api, alice, merchant, default, currency, default_rate, rate, low, high, fiat_int
):
    """D35: the bounds are minor units of the partner's default currency; a
    request in another currency is compared in micro-USDC through the two
    current rates (D14 floors), one in the default currency directly."""
    if high is not None and high < low:
        low, high = high, low
    alice.default_currency = default
    alice.min_fiat_per_request, alice.max_fiat_per_request = low, high
    alice.save()
    merchant.display_currency = currency
    merchant.save(update_fields=["display_currency"])
    set_rate(currency, rate)
    if default != currency:
        set_rate(default, default_rate)
    else:
        default_rate = rate

    response = post_raw(api, merchant, str(fiat_int))

    if currency == default:
        below, above = fiat_int < low, high is not None and fiat_int > high
    else:
        amount = d14(fiat_int, currency, rate)
        below = amount < d14(low, default, default_rate)
        above = high is not None and amount > d14(high, default, default_rate)
    event("below" if below else "above" if above else "within")
    if below:
        expected = ErrorCode.AMOUNT_BELOW_MINIMUM
    elif above:
        expected = ErrorCode.AMOUNT_EXCEEDS_MAX
    elif d14(fiat_int, currency, rate) < TAG_SPAN:
        expected = ErrorCode.AMOUNT_BELOW_MINIMUM  # D15
    else:
        assert response.status_code == 201, response.json()
        return
    assert response.status_code == 400, response.json()
    assert response.json()["error"] == expected


# Every value the rate column (numeric(38,18)) holds, beyond what writers now
# accept: a row stored before the RATE_MIN/RATE_MAX bounds existed.
column_rates = st.integers(min_value=1, max_value=10**38 - 1).map(
    lambda scaled: Decimal(f"{scaled}e-18")
)


@PROPERTY
@given(
    currency=st.sampled_from(SUPPORTED_CURRENCIES),
    rate=column_rates,
    fiat_int=st.integers(min_value=1, max_value=MAX_FIAT_INT),
)
@example(currency="JPY", rate=Decimal("1e-18"), fiat_int=MAX_FIAT_INT)
@example(currency="EUR", rate=Decimal(f"{10**38 - 1}e-18"), fiat_int=1)
def test_a_rate_from_before_the_bounds_answers_a_registry_code(
    api, alice, merchant, currency, rate, fiat_int
):
    """D14, D15: an amount whose USDC the BIGINT cannot hold is refused
    (``amount_exceeds_max``), one under 0.001 USDC too; never a 500."""
    price_in(alice, merchant, currency, rate)

    response = post_raw(api, merchant, str(fiat_int))

    exact = d14(fiat_int, currency, rate)
    if exact < TAG_SPAN:
        expected = ErrorCode.AMOUNT_BELOW_MINIMUM
    elif exact - exact % TAG_SPAN + TAG_SPAN - 1 > 2**63 - 1:
        expected = ErrorCode.AMOUNT_EXCEEDS_MAX
    else:
        assert response.status_code == 201, response.json()
        return
    assert response.status_code == 400, response.json()
    assert response.json()["error"] == expected


@PROPERTY
@given(
    currency=st.sampled_from(SUPPORTED_CURRENCIES),
    global_rate=realistic_rates,
    override=realistic_rates,
    fiat_int=st.integers(min_value=10**4, max_value=MAX_FIAT_INT),
)
def test_a_partners_override_prices_its_requests_only(
    api, alice, merchant, client_for, other_partner, currency, global_rate,
    override, fiat_int
):  # fmt: skip
    """D14, D31: the partner's pinned override, else the global rate; the
    request records the rate it used."""
    for partner in (alice, other_partner):
        partner.default_currency = currency
        partner.enabled_currencies = list(SUPPORTED_CURRENCIES)
        partner.min_fiat_per_request = 1
        partner.rate_limit_overrides = {"requests.create": "100000/m"}
        partner.save()
    merchant.display_currency = currency
    merchant.save(update_fields=["display_currency"])
    bobs = MerchantFactory(partner=other_partner, display_currency=currency)
    set_rate(currency, global_rate)
    fx_rate_set_manual(currency=currency, rate=override, partner=alice)

    for client, shop, rate in (
        (api, merchant, override),
        (client_for(other_partner), bobs, global_rate),
    ):
        body = post_raw(client, shop, str(fiat_int)).json()
        exact = d14(fiat_int, currency, rate)
        if exact < TAG_SPAN:
            assert body["error"] == ErrorCode.AMOUNT_BELOW_MINIMUM
            continue
        usdc_micro = int(body["amount"]["usdc_micro"])
        assert usdc_micro - usdc_micro % TAG_SPAN == exact - exact % TAG_SPAN
        assert PaymentRequest.objects.get(pk=body["request_id"]).fx_rate == rate
