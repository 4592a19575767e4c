"""Every amount the API accepts can be paid exactly (D13-D15, D19-D22).

End to end on a real node: create over the API in any supported currency at
any plausible rate, read what the pay page asks for (its text, its EIP-681
link, the wallet's ``amount_units`` in the chain's token decimals), send
exactly that, and the chain watcher matches it to the request with nothing
over or under.
"""

from __future__ import annotations

import re
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from payments.chain.watcher import scan_chain
from payments.models import FxRate, PaymentRequest
from payments.money import (
    EXPONENTS,
    MAX_FIAT_INT,
    RATE_MAX,
    RATE_MIN,
    SUPPORTED_CURRENCIES,
)
from tests.factories import MerchantFactory

from .conftest import DEPLOYER, PAYERS, new_wallet, send_token
from .pay_browser import config_of

pytestmark = pytest.mark.chain

PR = PaymentRequest

rates = st.integers(
    min_value=int(RATE_MIN * 10**18), max_value=int(RATE_MAX * 10**18) - 1
).map(lambda scaled: Decimal(f"{scaled}e-18"))


@pytest.fixture
def shop(partner, local_chain, w3):
    """A test-mode merchant on a wallet of its own, every currency enabled."""
    partner.enabled_currencies = list(SUPPORTED_CURRENCIES)
    partner.min_fiat_per_request = 1
    partner.rate_limit_overrides = {"requests.create": "100000/m"}
    partner.save()
    local_chain.last_scanned_block = w3.eth.block_number
    local_chain.save()
    return MerchantFactory(partner=partner, test_mode=True, wallet_address=new_wallet())


@settings(
    max_examples=20,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    currency=st.sampled_from(SUPPORTED_CURRENCIES),
    rate=st.one_of(
        rates, st.decimals(min_value=Decimal("0.5"), max_value=5000, places=4)
    ),
    fiat_int=st.integers(min_value=1, max_value=MAX_FIAT_INT),
    # D19: the registry's decimals scale the units (6 … 36 are configurable).
    decimals=st.sampled_from([6, 18, 36]),
)
@example(currency="JPY", rate=RATE_MIN, fiat_int=MAX_FIAT_INT, decimals=36)
@example(currency="KRW", rate=Decimal(1000), fiat_int=1, decimals=6)  # 0.001
@example(currency="EUR", rate=Decimal("0.92"), fiat_int=2500, decimals=18)
def test_what_the_pay_page_asks_for_pays_the_request_exactly(
    client, api_test, shop, local_chain, w3, usdc, partner, currency, rate, fiat_int,
    decimals,
):  # fmt: skip
    worth = Fraction(fiat_int, 10 ** EXPONENTS[currency]) / Fraction(rate) * 10**6
    if worth < 1000:
        event("below 0.001 USDC")
        return  # refused with amount_below_minimum (test_amount_properties)
    local_chain.decimals = decimals
    local_chain.save(update_fields=["decimals"])
    partner.default_currency = currency
    partner.save(update_fields=["default_currency"])
    shop.display_currency = currency
    shop.save(update_fields=["display_currency"])
    FxRate.objects.update_or_create(
        currency=currency,
        partner=None,
        defaults={"rate": rate, "source": "test-feed", "pinned": True},
    )
    created = api_test.post(
        "/api/v1/requests/create",
        {"merchant_id": str(shop.pk), "fiat_amount_int": fiat_int},
        format="json",
    )
    assert created.status_code == 201, created.json()
    usdc_micro = int(created.json()["amount"]["usdc_micro"])

    html = client.get(f"/pay/{created.json()['request_id']}").content.decode()
    config = config_of(html)
    (option,) = config["chains"]
    units = int(option["amount_units"])
    # The text to send, the EIP-681 link and the wallet's units say one amount.
    assert Decimal(config["usdc_text"]).scaleb(6) == usdc_micro
    assert f'data-copy="{config["usdc_text"]}"' in html
    assert re.search(rf"uint256={units}\b", html)
    assert units == usdc_micro * 10 ** (decimals - 6)

    minted = usdc.functions.mint(PAYERS[0], units).transact({"from": DEPLOYER})
    w3.eth.wait_for_transaction_receipt(minted)
    tx = send_token(w3, usdc, payer=PAYERS[0], to=shop.wallet_address, value=units)
    scan_chain(local_chain)

    pr = PR.objects.get(pk=created.json()["request_id"])
    assert (pr.status, pr.proof_status, pr.tx_hash) == (
        PR.Status.PAID,
        PR.ProofStatus.VERIFIED,
        tx,
    )
    assert pr.overpaid_micro == 0
    assert pr.evidence["value_micro"] == str(usdc_micro)
