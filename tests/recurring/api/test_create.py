"""POST /api/v1/recurring/plans (D29, D35, D17, D34): every error code over HTTP."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from payments.chain.defaults import DEFAULTS_BY_ID
from payments.models import Chain, FxRate
from recurring.models import Plan
from tests.factories import MerchantFactory
from tests.recurring.conftest import CUSTOMER, CUSTOMER_EIP55

URL = "/api/v1/recurring/plans"
KEY = "k" * 40


def body(merchant, **overrides):
    data = {
        "merchant_id": str(merchant.pk),
        "fiat_amount_int": 2500,
        "frequency": "monthly",
        "customer_wallet": CUSTOMER,
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not ...}


def post(client, data):
    return client.post(URL, data, format="json")


def assert_error(response, code, status=400, **extra):
    assert response.status_code == status, response.content
    payload = response.json()
    assert payload["ok"] is False
    assert payload["error"] == code
    for key, value in extra.items():
        assert payload[key] == value
    return payload


# --- success --------------------------------------------------------------------------


def test_create_returns_201_with_the_plan_shape_and_first_charge_due_now(api, merchant):
    response = post(
        api,
        body(
            merchant,
            customer_email="payer@example.com",
            metadata={"order": "A-1"},
            max_charges=12,
        ),
    )

    assert response.status_code == 201, response.content
    plan = response.json()
    assert plan["ok"] is True
    assert uuid.UUID(plan["plan_id"])
    assert plan["merchant_id"] == str(merchant.pk)
    assert plan["status"] == "active"
    assert plan["frequency"] == "monthly"
    assert plan["amount"] == {"fiat_int": 2500, "fiat_code": "EUR"}
    assert plan["customer_wallet"] == CUSTOMER
    assert plan["customer_email"] == "payer@example.com"
    assert plan["metadata"] == {"order": "A-1"}
    assert plan["max_charges"] == 12
    assert plan["charges_count"] == 0
    assert plan["consecutive_failures"] == 0
    assert plan["collection"] == "invoice"
    assert plan["chain_id"] is None
    assert plan["test_mode"] is False
    assert plan["recent_charges"] == []
    # D35: the first charge is due at creation.
    assert plan["next_charge_at"] == plan["created_at"]
    assert plan["created_at"].endswith("Z")
    assert Plan.objects.get(pk=plan["plan_id"]).anchor_at.isoformat()


def test_optional_fields_default_and_null_means_not_given(api, merchant):
    response = post(
        api,
        body(
            merchant,
            customer_email=None,
            metadata=None,
            max_charges=None,
            collection=None,
            chain_id=None,
        ),
    )
    assert response.status_code == 201, response.content
    plan = response.json()
    assert plan["customer_email"] is None
    assert plan["metadata"] == {}
    assert plan["max_charges"] is None
    assert plan["collection"] == "invoice"


def test_fiat_code_is_the_merchants_effective_currency(api, partner):
    usd_merchant = MerchantFactory(partner=partner, display_currency="USD")
    response = post(api, body(usd_merchant))
    assert response.status_code == 201, response.content
    assert response.json()["amount"]["fiat_code"] == "USD"


def test_test_key_creates_a_test_mode_plan(api_test, test_merchant):
    response = post(api_test, body(test_merchant))
    assert response.status_code == 201, response.content
    assert response.json()["test_mode"] is True
    assert Plan.objects.get(pk=response.json()["plan_id"]).test_mode is True


def test_unknown_fields_are_ignored(api, merchant):
    response = post(api, body(merchant, colour="blue"))
    assert response.status_code == 201


# --- body -----------------------------------------------------------------------------


@pytest.mark.parametrize("raw", ["[1, 2]", '"text"', "null", "{bad json", ""])
def test_a_body_that_is_not_a_json_object_is_invalid_body(api, raw):
    response = api.generic("POST", URL, raw, content_type="application/json")
    assert_error(response, "invalid_body")


# --- merchant -------------------------------------------------------------------------


@pytest.mark.parametrize("merchant_id", [..., None, "not-a-uuid", 42, ""])
def test_missing_or_malformed_merchant_id_is_invalid_merchant_id(
    api, merchant, merchant_id
):
    assert_error(
        post(api, body(merchant, merchant_id=merchant_id)), "invalid_merchant_id"
    )


def test_foreign_other_mode_and_unknown_merchants_are_the_same_not_found(
    api, partner, other_partner, merchant
):
    foreign = MerchantFactory(partner=other_partner)
    other_mode = MerchantFactory(partner=partner, test_mode=True)
    baseline = post(api, body(merchant, merchant_id=str(uuid.uuid4())))
    assert_error(baseline, "not_found", status=404)
    for stranger in (foreign, other_mode):
        answer = post(api, body(stranger))
        assert answer.status_code == 404
        assert answer.content == baseline.content
    assert not Plan.objects.exists()


@pytest.mark.parametrize(
    "change",
    [
        {"onboarding_status": "incomplete", "wallet_address": ""},
        {"disabled": True},
    ],
)
def test_a_merchant_that_is_not_ready_is_merchant_not_ready(api, partner, change):
    merchant = MerchantFactory(partner=partner, **change)
    assert_error(post(api, body(merchant)), "merchant_not_ready", status=409)
    assert not Plan.objects.exists()


# --- amount ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "amount", [..., None, "2500", 25.5, 2500.0, True, 0, -1, 2_147_483_648, [2500]]
)
def test_amount_must_be_a_json_integer_in_range(api, merchant, amount):
    assert_error(post(api, body(merchant, fiat_amount_int=amount)), "invalid_amount")


def test_amount_upper_bound_is_accepted(api, merchant):
    response = post(api, body(merchant, fiat_amount_int=2_147_483_647))
    assert response.status_code == 201, response.content


def test_amount_outside_the_partner_limits_is_refused_at_creation(
    api, partner, merchant
):
    assert_error(post(api, body(merchant, fiat_amount_int=99)), "amount_below_minimum")
    partner.max_fiat_per_request = 10_000
    partner.save()
    assert_error(
        post(api, body(merchant, fiat_amount_int=10_001)), "amount_exceeds_max"
    )


def test_an_amount_under_the_d15_floor_at_todays_rate_is_refused_at_creation(
    api, partner
):
    """D15: a charge needs at least 0.001 USDC; 1 KRW at 1 400 KRW/USDC is 714
    micro-USDC, so every charge would fail. Refused now, not at the first charge."""
    partner.enabled_currencies = ["EUR", "KRW"]
    partner.min_fiat_per_request = 0
    partner.save()
    FxRate.objects.create(
        currency="KRW", rate=Decimal("1400"), source="manual", pinned=True
    )
    merchant = MerchantFactory(partner=partner, display_currency="KRW")

    assert_error(post(api, body(merchant, fiat_amount_int=1)), "amount_below_minimum")
    assert not Plan.objects.exists()
    # 2 KRW is 1 428 micro-USDC: above the floor, so the plan is created.
    assert post(api, body(merchant, fiat_amount_int=2)).status_code == 201


def test_without_a_usable_rate_the_floor_is_left_to_each_charge(api, partner):
    partner.enabled_currencies = ["EUR", "KRW"]
    partner.min_fiat_per_request = 0
    partner.save()
    merchant = MerchantFactory(partner=partner, display_currency="KRW")

    response = post(api, body(merchant, fiat_amount_int=1))

    assert response.status_code == 201, response.content


def test_the_floor_holds_when_only_the_default_currencys_rate_is_missing(api, partner):
    """D15: the floor needs only the plan currency's rate. With partner limits
    and no EUR (default currency) rate, the limits cannot be told, and their
    fx_unavailable skipped the floor too: a 1 KRW plan was created, and every
    charge failed (fx_unavailable, then amount_below_minimum) until it paused."""
    partner.enabled_currencies = ["EUR", "KRW"]
    partner.min_fiat_per_request = 100  # minor units of EUR, the default
    partner.save()
    FxRate.objects.create(
        currency="KRW", rate=Decimal("1400"), source="manual", pinned=True
    )
    merchant = MerchantFactory(partner=partner, display_currency="KRW")

    assert_error(post(api, body(merchant, fiat_amount_int=1)), "amount_below_minimum")
    assert not Plan.objects.exists()
    # Above the floor, the limits are left to each charge (no EUR rate now).
    assert post(api, body(merchant, fiat_amount_int=2)).status_code == 201


# --- currency assertion (D12) ---------------------------------------------------------


def test_fiat_currency_code_is_a_check_of_the_effective_currency(api, merchant):
    assert_error(
        post(api, body(merchant, fiat_currency_code="USD")),
        "currency_mismatch",
        expected_fiat_code="EUR",
    )
    assert_error(
        post(api, body(merchant, fiat_currency_code="XYZ")), "invalid_currency"
    )
    assert post(api, body(merchant, fiat_currency_code="EUR")).status_code == 201


def test_a_currency_the_partner_has_not_enabled_is_unsupported(api, partner):
    merchant = MerchantFactory(partner=partner, display_currency="CHF")
    assert_error(post(api, body(merchant)), "unsupported_currency")


# --- frequency ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "frequency",
    [
        ...,
        None,
        "",
        "Monthly",
        "MONTHLY",
        "biweekly",
        "yearly",
        " monthly",
        30,
        ["monthly"],
    ],
)
def test_frequency_must_be_exactly_daily_weekly_or_monthly(api, merchant, frequency):
    assert_error(post(api, body(merchant, frequency=frequency)), "invalid_frequency")


@pytest.mark.parametrize("frequency", ["daily", "weekly", "monthly"])
def test_each_frequency_is_accepted(api, merchant, frequency):
    response = post(api, body(merchant, frequency=frequency))
    assert response.status_code == 201
    assert response.json()["frequency"] == frequency


# --- customer wallet and e-mail -------------------------------------------------------


@pytest.mark.parametrize(
    "wallet",
    [
        ...,
        None,
        "",
        "0x123",
        CUSTOMER[2:],
        CUSTOMER + "0",
        "0x" + "g" * 40,
        12,
        # Mixed case with one letter's case flipped: an EIP-55 checksum typo.
        CUSTOMER_EIP55[:3] + CUSTOMER_EIP55[3].swapcase() + CUSTOMER_EIP55[4:],
        "0x" + "0" * 40,  # D28: the zero address holds no funds and signs nothing
        # D28: a USDC token contract (shipped, any case) pays nothing either.
        DEFAULTS_BY_ID[137].usdc_address,
        DEFAULTS_BY_ID[8453].usdc_address.lower(),
    ],
)
def test_customer_wallet_must_be_0x_40_hex_and_pass_eip55_when_mixed(
    api, merchant, wallet
):
    assert_error(
        post(api, body(merchant, customer_wallet=wallet)), "invalid_customer_wallet"
    )


def test_customer_wallet_must_not_be_a_configured_usdc_contract(api, merchant):
    # D28: an operator's chain (configure_chain) counts like a shipped one.
    contract = "0x" + "5" * 40
    Chain.objects.create(
        chain_id=777_002, name="Operator chain", usdc_address=contract, is_testnet=True
    )
    assert_error(
        post(api, body(merchant, customer_wallet=contract)), "invalid_customer_wallet"
    )
    assert not Plan.objects.exists()


@pytest.mark.parametrize(
    "wallet", [CUSTOMER, CUSTOMER_EIP55, "0x" + CUSTOMER[2:].upper()]
)
def test_valid_customer_wallets_are_stored_as_given(api, merchant, wallet):
    response = post(api, body(merchant, customer_wallet=wallet))
    assert response.status_code == 201, response.content
    assert response.json()["customer_wallet"] == wallet


@pytest.mark.parametrize(
    "email", ["not-an-email", "a@b", "user@", 5, True, "x" * 250 + "@e.de"]
)
def test_customer_email_must_be_an_address(api, merchant, email):
    assert_error(post(api, body(merchant, customer_email=email)), "invalid_email")


# --- metadata (the requests' rules) ---------------------------------------------------


def test_metadata_follows_the_request_rules(api, merchant):
    too_many = {f"k{i}": "v" for i in range(21)}
    assert_error(post(api, body(merchant, metadata=too_many)), "metadata_too_many_keys")
    assert_error(
        post(api, body(merchant, metadata={"k" * 41: "v"})), "metadata_key_too_long"
    )
    assert_error(
        post(api, body(merchant, metadata={"k": "v" * 501})), "metadata_value_too_long"
    )
    assert_error(
        post(api, body(merchant, metadata=["a"])), "invalid_request", field="metadata"
    )
    assert_error(
        post(api, body(merchant, metadata={"k": 1})),
        "invalid_request",
        field="metadata",
    )
    # 18, not 20: every charge's request adds plan_id and charge_number, and a
    # request takes 20 keys (spec §4.1.1); it had 22.
    exactly = {f"k{i}": "v" * 500 for i in range(18)}
    assert post(api, body(merchant, metadata=exactly)).status_code == 201
    nineteen = {f"k{i}": "v" for i in range(19)}
    assert_error(post(api, body(merchant, metadata=nineteen)), "metadata_too_many_keys")


@pytest.mark.parametrize("name", ["plan_id", "charge_number"])
def test_metadata_may_not_use_the_keys_each_charge_sets(api, merchant, name):
    # A partner's own plan_id was silently replaced on every charge.
    answer = post(api, body(merchant, metadata={name: "mine"}))
    assert_error(answer, "invalid_request", field="metadata")
    assert name in answer.json()["message"]
    assert not Plan.objects.exists()


# --- max_charges, collection, chain_id ------------------------------------------------


@pytest.mark.parametrize("value", [0, -1, "3", 1.5, True, [3], 2_147_483_648])
def test_max_charges_must_be_a_positive_integer(api, merchant, value):
    assert_error(
        post(api, body(merchant, max_charges=value)),
        "invalid_request",
        field="max_charges",
    )


@pytest.mark.parametrize("value", ["push", "", "INVOICE", 1, True])
def test_collection_must_be_invoice_or_pull(api, merchant, value):
    assert_error(
        post(api, body(merchant, collection=value)),
        "invalid_request",
        field="collection",
    )


@pytest.mark.parametrize("value", [0, -137, "137", 1.5, True])
def test_chain_id_must_be_a_positive_integer(api, merchant, value):
    assert_error(
        post(api, body(merchant, chain_id=value)), "invalid_request", field="chain_id"
    )


def test_pull_without_an_executor_requires_an_embedded_wallet(api, merchant, settings):
    settings.JOPAY_RECURRING_EXECUTORS = {}
    assert_error(
        post(api, body(merchant, collection="pull", chain_id=137)),
        "recurring_requires_embedded_wallet",
    )
    assert_error(
        post(api, body(merchant, collection="pull")),
        "recurring_requires_embedded_wallet",
    )
    assert not Plan.objects.exists()


def test_pull_needs_an_executor_for_the_plans_chain(api, merchant, settings):
    settings.JOPAY_RECURRING_EXECUTORS = {137: "0x" + "ab" * 20}
    assert_error(
        post(api, body(merchant, collection="pull", chain_id=8453)),
        "recurring_requires_embedded_wallet",
    )
    assert_error(
        post(api, body(merchant, collection="pull")),
        "invalid_request",
        field="chain_id",
    )
    # D19: the chain must also be usable (RPC URLs) and a mainnet for a live key.
    Chain.objects.update_or_create(
        chain_id=137,
        defaults={
            "name": "Polygon",
            "is_testnet": False,
            "is_local": False,
            "usdc_address": "0x" + "cd" * 20,
            "rpc_urls": ["https://polygon-rpc.example"],
            "enabled": True,
        },
    )
    response = post(api, body(merchant, collection="pull", chain_id=137))
    assert response.status_code == 201, response.content
    assert response.json()["collection"] == "pull"
    assert response.json()["chain_id"] == 137


# --- idempotency (D17, D5) ------------------------------------------------------------


@pytest.mark.parametrize("key", ["short", "x" * 65, "has space" + "x" * 30, 12345, ""])
def test_malformed_idempotency_key_is_refused(api, merchant, key):
    assert_error(
        post(api, body(merchant, idempotency_key=key)), "invalid_idempotency_key"
    )


def test_same_key_and_body_replays_the_original_with_200(api, merchant):
    first = post(api, body(merchant, idempotency_key=KEY, metadata={"a": "1"}))
    assert first.status_code == 201
    assert "Idempotent-Replayed" not in first.headers
    # Same fields in another order, plus an ignored unknown field.
    second = post(
        api,
        {
            "colour": "red",
            "metadata": {"a": "1"},
            "idempotency_key": KEY,
            "customer_wallet": CUSTOMER,
            "frequency": "monthly",
            "fiat_amount_int": 2500,
            "merchant_id": str(merchant.pk),
        },
    )
    assert second.status_code == 200
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.json()["plan_id"] == first.json()["plan_id"]
    assert Plan.objects.count() == 1


def test_replay_returns_the_plan_in_its_current_state_even_after_changes(api, merchant):
    first = post(api, body(merchant, idempotency_key=KEY)).json()
    api.post(f"{URL}/{first['plan_id']}/pause")
    merchant.disabled = True
    merchant.save()
    again = post(api, body(merchant, idempotency_key=KEY))
    assert again.status_code == 200
    assert again.json()["status"] == "paused"


def test_same_key_with_another_body_is_idempotency_conflict(api, merchant):
    assert post(api, body(merchant, idempotency_key=KEY)).status_code == 201
    assert_error(
        post(api, body(merchant, idempotency_key=KEY, fiat_amount_int=2600)),
        "idempotency_conflict",
        status=409,
    )
    assert_error(
        post(api, body(merchant, idempotency_key=KEY, max_charges=3)),
        "idempotency_conflict",
        status=409,
    )
    assert Plan.objects.count() == 1


def test_idempotency_keys_are_scoped_to_partner_and_mode(
    api, api_test, merchant, test_merchant, other_partner, client_for
):
    bob_merchant = MerchantFactory(partner=other_partner)
    assert post(api, body(merchant, idempotency_key=KEY)).status_code == 201
    assert post(api_test, body(test_merchant, idempotency_key=KEY)).status_code == 201
    bob = client_for(other_partner)
    assert post(bob, body(bob_merchant, idempotency_key=KEY)).status_code == 201
    assert Plan.objects.count() == 3


# --- auth and scope -------------------------------------------------------------------


def test_create_needs_recurring_write(client_for, partner, merchant):
    reader = client_for(partner, scopes=["recurring:read"])
    assert_error(
        post(reader, body(merchant)),
        "insufficient_scope",
        status=403,
        required_scope="recurring:write",
    )
    writer = client_for(partner, scopes=["recurring:write"])
    assert post(writer, body(merchant)).status_code == 201


def test_create_without_a_key_is_unauthorized(client, merchant):
    response = client.post(URL, body(merchant), content_type="application/json")
    assert_error(response, "unauthorized", status=401)
