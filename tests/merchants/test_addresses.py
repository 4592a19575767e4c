"""D28: a merchant's money never goes to an address nobody controls.

The zero address (a USDC transfer to it reverts: a request to it can never be
paid) and the USDC token contracts (USDC sent to its own contract is lost) are
refused as a wallet or withdraw address at every entry point: API create and
PATCH, the onboarding page and the admin, each with the field's own code. The
pure validator refuses the zero address; the contracts, shipped (D19) or
configured in the chain registry, are refused in the services layer.
"""

from __future__ import annotations

import pytest
from eth_account import Account

from jopay_project.errors import ErrorCode, JoPayError
from merchants.models import Merchant
from merchants.onboarding_complete import merchant_onboarding_complete
from merchants.validation import validate_evm_address
from payments.chain.defaults import DEFAULTS_BY_ID
from payments.models import Chain
from tests.factories import WALLET, MerchantFactory
from tests.merchants.conftest import URL, detail_url
from tests.merchants.test_admin import form_errors, post_change

ZERO = "0x" + "0" * 40
POLYGON_USDC = DEFAULTS_BY_ID[137].usdc_address  # shipped, EIP-55
SEPOLIA_USDC = DEFAULTS_BY_ID[11155111].usdc_address
OTHER = "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc"


@pytest.fixture
def configured_usdc(db) -> str:
    """A chain an operator added, whose USDC contract is not a shipped one."""
    address = Account.create().address
    Chain.objects.create(
        chain_id=777_001, name="Operator chain", usdc_address=address, is_testnet=True
    )
    return address


@pytest.fixture(params=["zero", "shipped", "shipped-lower", "configured"])
def unroutable(request) -> str:
    if request.param == "configured":
        # Given in lower case: the registry holds EIP-55.
        return request.getfixturevalue("configured_usdc").lower()
    return {
        "zero": ZERO,
        "shipped": POLYGON_USDC,
        "shipped-lower": SEPOLIA_USDC.lower(),
    }[request.param]


# --- the pure validator ---------------------------------------------------------------


@pytest.mark.parametrize(
    "code",
    [
        ErrorCode.INVALID_WALLET_ADDRESS,
        ErrorCode.INVALID_WITHDRAW_ADDRESS,
        ErrorCode.INVALID_CUSTOMER_WALLET,
    ],
)
def test_the_validator_refuses_the_zero_address_with_the_callers_code(code):
    with pytest.raises(JoPayError) as info:
        validate_evm_address(ZERO, code)
    assert info.value.code is code


def test_the_validator_still_takes_an_address_that_merely_starts_with_zeros():
    almost = "0x" + "0" * 39 + "1"
    assert validate_evm_address(almost, ErrorCode.INVALID_WALLET_ADDRESS) == almost


# --- API create and PATCH -------------------------------------------------------------


def test_api_create_refuses_an_unroutable_wallet(api, unroutable):
    response = api.post(
        URL, {"business_name": "X", "wallet_address": unroutable}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_wallet_address"
    assert not Merchant.objects.filter(business_name="X").exists()


def test_api_patch_refuses_an_unroutable_withdraw_address(api, merchant, unroutable):
    merchant.withdraw_address = OTHER
    merchant.save()

    response = api.patch(
        detail_url(merchant.pk), {"withdraw_address": unroutable}, format="json"
    )

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_withdraw_address"
    merchant.refresh_from_db()
    assert merchant.withdraw_address == OTHER


# --- onboarding page ------------------------------------------------------------------


@pytest.fixture
def onboarding_path(api) -> str:
    body = api.post(URL, {"business_name": "Mia's Bakery"}, format="json").json()
    return body["onboarding_url"].removeprefix("http://testserver")


def test_onboarding_page_refuses_an_unroutable_wallet(
    client, onboarding_path, unroutable
):
    response = client.post(
        onboarding_path, {"wallet_address": unroutable, "accept_terms": "on"}
    )

    assert response.status_code == 400
    merchant = Merchant.objects.get(business_name="Mia's Bakery")
    assert merchant.onboarding_status == Merchant.OnboardingStatus.INCOMPLETE
    assert merchant.wallet_address == ""
    # The link is not burnt: the merchant can try again with its own wallet.
    own = {"wallet_address": WALLET, "accept_terms": "on"}
    assert client.post(onboarding_path, own).status_code == 302  # done


def test_onboarding_service_refuses_an_unroutable_wallet(onboarding_path, unroutable):
    token = onboarding_path.rstrip("/").rsplit("/", 1)[-1]
    with pytest.raises(JoPayError) as info:
        merchant_onboarding_complete(
            token=token, wallet_address=unroutable, terms_accepted=True
        )
    assert info.value.code is ErrorCode.INVALID_WALLET_ADDRESS


# --- admin ----------------------------------------------------------------------------


@pytest.mark.parametrize("field", ["wallet_address", "withdraw_address"])
def test_admin_refuses_an_unroutable_address(admin_client, partner, field, unroutable):
    merchant = MerchantFactory(partner=partner)

    response = post_change(admin_client, merchant, **{field: unroutable})

    assert field in form_errors(response)
    merchant.refresh_from_db()
    assert (merchant.wallet_address, merchant.withdraw_address) == (WALLET, "")
