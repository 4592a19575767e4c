"""An amount outside the partner's limits says what the limit is (D13, D35).

The message was the same for every cause ("below the partner's per-request
minimum, or is less than 0.001 USDC at today's rate") and named no number: a
USD merchant's $1.00 refused by a €1.00 minimum gave the integrator nothing to
go on. Codes and statuses are unchanged; the limits are stated in the
partner's default currency, in which they are set.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from payments.models import FxRate
from tests.factories import MerchantFactory

pytestmark = pytest.mark.usefixtures("rates")


def _refusal(response, code: str) -> str:
    body = response.json()
    assert (response.status_code, body["error"]) == (400, code), body
    return body["message"]


def test_below_the_minimum_in_the_default_currency_names_it(api, create, partner):
    partner.min_fiat_per_request = 1000
    partner.save()
    message = _refusal(create(api, fiat_amount_int=999), "amount_below_minimum")
    assert "10.00 EUR" in message


def test_above_the_maximum_names_it(api, create, partner):
    partner.max_fiat_per_request = 50_000
    partner.save()
    message = _refusal(create(api, fiat_amount_int=50_001), "amount_exceeds_max")
    assert "500.00 EUR" in message


def test_another_currency_is_told_the_limit_and_that_rates_convert(
    api, create, partner
):
    partner.min_fiat_per_request = 100  # 1.00 EUR
    partner.save()
    usd = MerchantFactory(partner=partner, display_currency="USD")
    message = _refusal(create(api, usd, fiat_amount_int=100), "amount_below_minimum")
    assert "1.00 EUR" in message
    assert "rate" in message


def test_under_a_thousandth_of_a_usdc_says_so(api, create, partner):
    partner.min_fiat_per_request = 0
    partner.save()
    FxRate.objects.filter(currency="EUR").update(rate=Decimal("20"))
    message = _refusal(create(api, fiat_amount_int=1), "amount_below_minimum")
    assert "0.001 USDC" in message
    assert "minimum of" not in message
