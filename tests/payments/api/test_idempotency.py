"""D17 idempotency of create: replay, conflict, key format, isolation of key scopes."""

from __future__ import annotations

import hashlib

import pytest

from merchants.models import Merchant
from payments.models import PaymentRequest
from tests.factories import MerchantFactory
from tests.openapi import schema_document

pytestmark = pytest.mark.usefixtures("rates")

KEY = hashlib.sha256(b"checkout:order-1").hexdigest()  # the spec's recommended form


def test_same_key_and_body_replays_the_original_with_200(api, create):
    first = create(api, idempotency_key=KEY, metadata={"order": "1"})
    again = create(api, idempotency_key=KEY, metadata={"order": "1"})

    assert first.status_code == 201
    assert again.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert PaymentRequest.objects.count() == 1


def test_replay_returns_the_current_state(api, create):
    first = create(api, idempotency_key=KEY).json()
    api.post(f"/api/v1/requests/{first['request_id']}/cancel")
    again = create(api, idempotency_key=KEY)
    assert again.status_code == 200
    assert again.json()["status"] == "cancelled"


def test_replay_ignores_unknown_fields_order_and_defaults(api, merchant):
    body = {
        "merchant_id": str(merchant.pk),
        "fiat_amount_int": 2500,
        "idempotency_key": KEY,
    }
    first = api.post("/api/v1/requests/create", body, format="json")
    reordered = {
        "idempotency_key": KEY,
        "fiat_amount_int": 2500,
        "payment_mode": "pos",
        "merchant_id": str(merchant.pk).upper(),
        "whatever": 1,
        "memo": None,
    }
    again = api.post("/api/v1/requests/create", reordered, format="json")
    assert again.status_code == 200
    assert again.json()["request_id"] == first.json()["request_id"]


def test_replay_still_works_after_the_merchant_was_disabled(api, create, merchant):
    first = create(api, idempotency_key=KEY)
    Merchant.objects.filter(pk=merchant.pk).update(disabled=True)
    again = create(api, idempotency_key=KEY)
    assert again.status_code == 200
    assert again.json()["request_id"] == first.json()["request_id"]


@pytest.mark.parametrize(
    "changes",
    [
        {"fiat_amount_int": 2501},
        {"memo": "other"},
        {"metadata": {"order": "2"}},
        {"payment_mode": "invoice"},
        {"expires_in_seconds": 600},
        {"fiat_currency_code": "EUR"},
    ],
)
def test_same_key_different_body_is_idempotency_conflict(api, create, changes):
    assert create(api, idempotency_key=KEY).status_code == 201
    response = create(api, idempotency_key=KEY, **changes)
    assert (response.status_code, response.json()["error"]) == (
        409,
        "idempotency_conflict",
    )
    assert PaymentRequest.objects.count() == 1


def test_same_key_other_merchant_is_idempotency_conflict(api, create, partner):
    create(api, idempotency_key=KEY)
    response = create(api, MerchantFactory(partner=partner), idempotency_key=KEY)
    assert response.json()["error"] == "idempotency_conflict"


@pytest.mark.parametrize(
    "key",
    [
        "a" * 31,
        "a" * 65,
        "",
        "a" * 31 + "!",
        "k" * 40 + " ",
        "é" * 32,
        "a" * 32 + "\n",
        "a+b/" * 10,
        12345678901234567890123456789012,
        True,
        ["a" * 32],
        {"k": "v"},
    ],
)
def test_malformed_key_is_invalid_idempotency_key(api, create, key):
    response = create(api, idempotency_key=key)
    assert (response.status_code, response.json()["error"]) == (
        400,
        "invalid_idempotency_key",
    )
    assert PaymentRequest.objects.count() == 0


@pytest.mark.parametrize("key", ["a" * 32, "Z" * 64, "abc-_" * 8, KEY, KEY.upper()])
def test_well_formed_keys_are_accepted(api, create, key):
    assert create(api, idempotency_key=key).status_code == 201


def test_keys_are_scoped_per_partner_and_mode(
    api, api_test, create, client_for, other_partner, test_merchant
):
    bob = client_for(other_partner)
    bob_merchant = MerchantFactory(partner=other_partner)
    alice_live = create(api, idempotency_key=KEY)
    alice_test = create(api_test, test_merchant, idempotency_key=KEY)
    bob_live = create(bob, bob_merchant, idempotency_key=KEY)
    assert {r.status_code for r in (alice_live, alice_test, bob_live)} == {201}
    assert (
        len({r.json()["request_id"] for r in (alice_live, alice_test, bob_live)}) == 3
    )


def test_without_a_key_every_create_is_new(api, create):
    assert create(api).status_code == 201
    assert create(api).status_code == 201
    assert PaymentRequest.objects.count() == 2


@pytest.mark.parametrize("given", [{}, {"return_url": ""}])
def test_an_empty_return_url_is_no_return_url_on_a_first_create(api, create, given):
    # /docs/#idempotency names "" as return_url's default, like memo's "":
    # leaving it out and sending "" are the same body (D17), so a first
    # create with "" must succeed too, not only its replay. It answered
    # invalid_return_url, while the same body replayed a request with 200.
    fresh = create(api, **given)
    assert fresh.status_code == 201, fresh.json()
    assert fresh.json()["return_url"] is None

    first = create(api, idempotency_key=KEY, fiat_amount_int=2600)
    again = create(api, idempotency_key=KEY, fiat_amount_int=2600, return_url="")
    assert (first.status_code, again.status_code) == (201, 200)


def test_the_schema_lets_return_url_be_empty(api):
    # The OpenAPI document said minLength 1, so a generated client refused the
    # "" that the docs name as the field's default.
    doc = schema_document(api)
    field = doc["components"]["schemas"]["PaymentRequestCreateInputRequest"][
        "properties"
    ]["return_url"]
    assert field.get("minLength", 0) == 0
