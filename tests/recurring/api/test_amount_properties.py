"""Plan amounts over generated currencies, rates and limits (D13, D14, D15, D29, D35).

A plan is refused at creation exactly when a one-off request for the same
amount would be (so no plan is made that every charge would fail), with the
same code; a plan that is made charges the D14 floor of its amount, rounded
down to 1 000, plus a D15 tag.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from math import floor

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from payments.models import FxRate
from payments.models.requests import TAG_SPAN
from payments.money import EXPONENTS, MAX_FIAT_INT, MICRO, SUPPORTED_CURRENCIES
from recurring.models import Plan
from recurring.services import plans_charge_due
from tests.recurring.conftest import CUSTOMER

rates = st.decimals(min_value=Decimal("0.5"), max_value=Decimal(5000), places=6)
amounts = st.integers(min_value=1, max_value=MAX_FIAT_INT)


@pytest.fixture
def alice(partner):
    partner.enabled_currencies = list(SUPPORTED_CURRENCIES)
    partner.rate_limit_overrides = {
        "requests.create": "100000/m",
        "plans.create": "100000/m",
        "plans.merchant": "100000/h",
    }
    partner.save()
    return partner


def d14(fiat_int: int, currency: str, rate: Decimal) -> int:
    return floor(Fraction(fiat_int, 10 ** EXPONENTS[currency]) / Fraction(rate) * MICRO)


@settings(
    max_examples=40,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    default=st.sampled_from(SUPPORTED_CURRENCIES),
    currency=st.sampled_from(SUPPORTED_CURRENCIES),
    default_rate=rates,
    rate=rates,
    low=st.integers(min_value=1, max_value=10**7),
    high=st.one_of(st.none(), st.integers(min_value=1, max_value=10**9)),
    fiat_int=amounts,
)
@example(  # 1 KRW at 1 400: 714 micro-USDC, under the D15 floor
    default="KRW",
    currency="KRW",
    default_rate=Decimal(1400),
    rate=Decimal(1400),
    low=1,
    high=None,
    fiat_int=1,
)
def test_a_plan_is_refused_exactly_when_its_charge_would_be(
    api, alice, merchant, default, currency, default_rate, rate, low, high, fiat_int
):
    if high is not None and high < low:
        low, high = high, low
    alice.default_currency = default
    alice.min_fiat_per_request, alice.max_fiat_per_request = low, high
    alice.save()
    merchant.display_currency = currency
    merchant.save(update_fields=["display_currency"])
    for code, value in ((default, default_rate), (currency, rate)):
        FxRate.objects.update_or_create(
            currency=code,
            partner=None,
            defaults={"rate": value, "source": "test-feed", "pinned": True},
        )
    rate = FxRate.objects.get(currency=currency, partner=None).rate

    one_off = api.post(
        "/api/v1/requests/create",
        {"merchant_id": str(merchant.pk), "fiat_amount_int": fiat_int},
        format="json",
    )
    plan = api.post(
        "/api/v1/recurring/plans",
        {
            "merchant_id": str(merchant.pk),
            "fiat_amount_int": fiat_int,
            "frequency": "monthly",
            "customer_wallet": CUSTOMER,
        },
        format="json",
    )

    event(one_off.json().get("error", "created"))
    if one_off.status_code != 201:
        assert plan.status_code == one_off.status_code, plan.json()
        assert plan.json()["error"] == one_off.json()["error"]
        return
    assert plan.status_code == 201, plan.json()
    plans_charge_due()
    request = Plan.objects.get(pk=plan.json()["plan_id"]).charges.get().payment_request
    exact = d14(fiat_int, currency, rate)
    assert (
        request.usdc_micro - request.usdc_micro % TAG_SPAN == exact - exact % TAG_SPAN
    )
    assert (request.fiat_int, request.fiat_code) == (fiat_int, currency)
