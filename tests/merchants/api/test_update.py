"""PATCH /api/v1/merchants/:id (D4, D28, D29, D34; spec §11)."""

from __future__ import annotations

import pytest

from merchants.models import Merchant
from tests.factories import WALLET
from tests.merchants.api.helpers import broken_checksum, refusal
from tests.merchants.conftest import detail_url

OTHER = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"  # anvil account 2, EIP-55


@pytest.fixture
def patch(api, merchant):
    def call(body, client=None, target=None):
        return (client or api).patch(
            detail_url((target or merchant).pk), body, format="json"
        )

    return call


def test_patch_updates_profile_fields_and_returns_the_merchant_shape(patch, merchant):
    response = patch(
        {
            "display_name": "New name",
            "business_name": "New GmbH",
            "email": "new@example.com",
            "country": "FR",
            "phone": "+33 1",
            "website": "https://new.example",
            "instagram": "@new",
            "industry": "food",
            "display_currency": "JPY",
            "account_type": "individual",
        }
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["ok"] is True
    assert body["merchant_id"] == str(merchant.pk)
    assert (
        body["display_name"],
        body["country"],
        body["display_currency"],
        body["account_type"],
    ) == ("New name", "FR", "JPY", "individual")
    merchant.refresh_from_db()
    assert (merchant.business_name, merchant.email, merchant.industry) == (
        "New GmbH",
        "new@example.com",
        "food",
    )


def test_patch_touches_only_the_fields_given(patch, merchant):
    before = Merchant.objects.filter(pk=merchant.pk).values().get()
    assert patch({"industry": "books"}).status_code == 200
    after = Merchant.objects.filter(pk=merchant.pk).values().get()
    changed = {k for k in before if before[k] != after[k]}
    assert changed == {"industry", "updated_at"}


def test_null_or_empty_clears_optional_fields(patch, merchant):
    body = patch(
        {"email": None, "display_currency": None, "country": "", "website": None}
    ).json()
    assert (
        body["email"],
        body["display_currency"],
        body["country"],
        body["website"],
    ) == (None, None, None, None)
    merchant.refresh_from_db()
    assert merchant.effective_currency() == "EUR"  # D12: falls back to the partner's


def test_empty_object_changes_nothing(patch, merchant):
    response = patch({})
    assert response.status_code == 200
    assert response.json()["business_name"] == merchant.business_name


def test_wallet_address_is_not_updatable_over_the_api(patch, merchant):
    assert patch({"wallet_address": OTHER}).status_code == 200  # ignored (D4)
    merchant.refresh_from_db()
    assert merchant.wallet_address == WALLET


def test_withdraw_address_is_set_and_validated(patch, merchant):
    assert patch({"withdraw_address": OTHER}).json()["withdraw_address"] == OTHER
    for bad in ("0x123", broken_checksum(OTHER), 42, True, [OTHER], {"a": 1}):
        body = refusal(patch({"withdraw_address": bad}))
        assert body["error"] == "invalid_withdraw_address"
    merchant.refresh_from_db()
    assert merchant.withdraw_address == OTHER


def test_disabled_round_trips(patch, merchant):
    assert patch({"disabled": True}).json()["disabled"] is True
    merchant.refresh_from_db()
    assert merchant.disabled
    assert not merchant.is_ready
    assert patch({"disabled": False}).json()["disabled"] is False


@pytest.mark.parametrize("field", ["disabled", "auto_forward"])
@pytest.mark.parametrize("value", ["true", 1, 0, None, [], {}], ids=repr)
def test_booleans_must_be_json_booleans(patch, field, value):
    body = refusal(patch({field: value}))
    assert (body["error"], body["field"]) == ("invalid_request", field)


# D29 / §11: auto-forward needs an executor, then a withdraw address.


def test_auto_forward_without_an_executor_requires_embedded_wallet(
    patch, merchant, settings
):
    settings.JOPAY_AUTO_FORWARD_EXECUTORS = {}
    body = refusal(patch({"auto_forward": True, "withdraw_address": OTHER}))
    assert body["error"] == "auto_forward_requires_embedded_wallet"
    merchant.refresh_from_db()
    assert (merchant.auto_forward, merchant.withdraw_address) == (
        False,
        "",
    )  # nothing saved


def test_auto_forward_with_an_executor_needs_a_withdraw_address(
    patch, merchant, settings
):
    settings.JOPAY_AUTO_FORWARD_EXECUTORS = {"137": OTHER}
    assert refusal(patch({"auto_forward": True}))["error"] == "invalid_withdraw_address"
    both = patch({"auto_forward": True, "withdraw_address": OTHER})
    assert both.status_code == 200
    assert (both.json()["auto_forward"], both.json()["withdraw_address"]) == (
        True,
        OTHER,
    )
    # Clearing the address switches auto-forward off: it never points nowhere.
    cleared = patch({"withdraw_address": None}).json()
    assert (cleared["auto_forward"], cleared["withdraw_address"]) == (False, None)


def test_auto_forward_false_is_always_allowed(patch, settings):
    settings.JOPAY_AUTO_FORWARD_EXECUTORS = {}
    assert patch({"auto_forward": False}).json()["auto_forward"] is False


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"email": "bad"}, "invalid_email", None),
        ({"country": "Germany"}, "invalid_country", None),
        ({"display_currency": "ZZZ"}, "invalid_currency", None),
        ({"display_currency": "CHF"}, "unsupported_currency", None),
        ({"account_type": None}, "invalid_account_type", None),
        ({"account_type": "shop"}, "invalid_account_type", None),
        ({"display_name": "x" * 121}, "invalid_request", "display_name"),
        ({"display_name": 5}, "invalid_request", "display_name"),
        ({"industry": ["a"]}, "invalid_request", "industry"),
    ],
)
def test_patch_validation_codes_and_nothing_is_written(
    patch, merchant, body, code, field
):
    before = Merchant.objects.filter(pk=merchant.pk).values().get()
    answer = refusal(patch({"business_name": "Should not stick", **body}))
    assert (answer["error"], answer.get("field")) == (code, field)
    assert Merchant.objects.filter(pk=merchant.pk).values().get() == before


@pytest.mark.parametrize("raw", [b"[]", b"null", b"", b"{oops"])
def test_patch_body_must_be_a_json_object(api, merchant, raw):
    response = api.generic(
        "PATCH", detail_url(merchant.pk), raw, content_type="application/json"
    )
    assert refusal(response)["error"] == "invalid_body"


def test_patch_malformed_id_is_invalid_merchant_id(api):
    assert (
        refusal(api.patch("/api/v1/merchants/xyz", {}, format="json"))["error"]
        == "invalid_merchant_id"
    )


def test_patch_needs_merchants_write(patch, client_for, partner):
    reader = client_for(partner, scopes=["merchants:read"])
    body = refusal(patch({"display_name": "x"}, client=reader), 403)
    assert (body["error"], body["required_scope"]) == (
        "insufficient_scope",
        "merchants:write",
    )


def test_patch_and_get_have_their_own_rate_limit_counters(patch, api, merchant):
    response = patch({"industry": "x"})
    assert response["X-RateLimit-Limit"] == "60"
    assert response["X-RateLimit-Remaining"] == "59"
    read = api.get(detail_url(merchant.pk))
    assert read["X-RateLimit-Remaining"] == "59"  # merchants.detail, not .update


def test_changing_the_withdraw_address_switches_auto_forward_off(
    api, merchant, settings
):
    """spec §11.1: the executor grant pins the destination; a new one is needed."""
    settings.JOPAY_AUTO_FORWARD_EXECUTORS = {137: "0x" + "1" * 40}
    first, second = "0x" + "a" * 40, "0x" + "b" * 40
    url = f"/api/v1/merchants/{merchant.pk}"
    assert (
        api.patch(
            url, {"withdraw_address": first, "auto_forward": True}, format="json"
        ).json()["auto_forward"]
        is True
    )
    assert (
        api.patch(url, {"withdraw_address": second}, format="json").json()[
            "auto_forward"
        ]
        is False
    )


@pytest.mark.parametrize(
    "legacy",
    [
        {"display_currency": "XXX"},  # a currency since dropped from the list
        {"account_type": "sole_trader"},  # a choice that no longer exists
        {"wallet_type": "custodial"},  # a field PATCH cannot touch at all
    ],
)
def test_a_row_an_older_rule_let_in_can_still_be_patched(patch, merchant, legacy):
    # Only the fields a PATCH changes are validated: the rest was accepted when
    # written, so full_clean over the whole row made every PATCH a 500.
    Merchant.objects.filter(pk=merchant.pk).update(**legacy)
    response = patch({"display_name": "Still editable"})
    assert response.status_code == 200, response.content
    merchant.refresh_from_db()
    assert merchant.display_name == "Still editable"
    for name, value in legacy.items():
        assert getattr(merchant, name) == value  # untouched, not "repaired"


def test_the_same_withdraw_address_in_another_case_keeps_auto_forward(
    patch, merchant, settings
):
    """spec §11.1, /docs/merchants/: auto_forward goes off when the address
    changes to a *different* one. The EIP-55 and the lower-case spelling are
    one address (a client that checksums addresses sends it back so): the
    grant still points there."""
    settings.JOPAY_AUTO_FORWARD_EXECUTORS = {137: "0x" + "1" * 40}
    assert patch({"withdraw_address": OTHER.lower(), "auto_forward": True}).json()[
        "auto_forward"
    ]
    again = patch({"withdraw_address": OTHER}).json()
    assert (again["withdraw_address"], again["auto_forward"]) == (OTHER, True)
    merchant.refresh_from_db()
    assert merchant.auto_forward is True
