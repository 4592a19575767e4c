"""POST /api/v1/merchants (spec §5.1; D4, D5, D17, D27, D28, D34)."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from merchants.models import Merchant
from tests.factories import WALLET
from tests.merchants.api.helpers import broken_checksum, refusal
from tests.merchants.conftest import URL, new_key

# D34's merchant shape plus the profile fields and the link's expiry.
SHAPE = {
    "ok",
    "merchant_id",
    "display_name",
    "business_name",
    "email",
    "country",
    "phone",
    "website",
    "instagram",
    "industry",
    "display_currency",
    "account_type",
    "onboarding_status",
    "onboarding_url",
    "onboarding_url_expires_at",
    "wallet_address",
    "withdraw_address",
    "auto_forward",
    "test_mode",
    "disabled",
    "created_at",
}
FULL_PROFILE = {
    "email": "shop@example.com",
    "display_name": "Mia",
    "business_name": "Mia's Shop GmbH",
    "country": "DE",
    "phone": "+49 30 123456",
    "website": "https://mia.example",
    "instagram": "@miashop",
    "industry": "retail",
    "display_currency": "USD",
    "account_type": "individual",
}


BAD_WALLET = broken_checksum(WALLET)


# --- happy paths ----------------------------------------------------------------------


def test_create_without_wallet_is_incomplete_with_a_single_use_onboarding_link(
    create, partner
):
    before = timezone.now()
    response = create(FULL_PROFILE)
    assert response.status_code == 201, response.content
    assert "Idempotent-Replayed" not in response.headers
    body = response.json()
    assert set(body) == SHAPE
    assert body["ok"] is True
    for field, value in FULL_PROFILE.items():
        assert body[field] == value, field
    assert body["onboarding_status"] == "incomplete"
    assert body["wallet_address"] is None
    assert body["withdraw_address"] is None
    assert (body["auto_forward"], body["disabled"], body["test_mode"]) == (
        False,
        False,
        False,
    )
    # D28/D35: {JOPAY_PUBLIC_BASE_URL}/onboard/<token>/ valid for 7 days.
    url = body["onboarding_url"]
    assert url.startswith("http://testserver/onboard/")
    assert url.endswith("/")
    expires = parse_datetime(body["onboarding_url_expires_at"])
    assert (
        timedelta(days=7) - timedelta(seconds=5)
        < expires - before
        <= timedelta(days=7, seconds=5)
    )
    assert body["onboarding_url_expires_at"].endswith("Z")  # D1
    merchant = Merchant.objects.get(pk=body["merchant_id"])
    assert (merchant.partner_id, merchant.test_mode) == (partner.pk, False)
    token = url.rstrip("/").rsplit("/", 1)[1]
    # Only the token's SHA-256 is stored (never the token).
    assert merchant.onboarding_token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(Merchant.objects.filter(pk=merchant.pk).values().get())


def test_create_with_wallet_is_complete_at_once_with_an_external_wallet(create):
    response = create({"business_name": "Ready Shop", "wallet_address": WALLET})
    assert response.status_code == 201
    body = response.json()
    assert body["onboarding_status"] == "complete"
    assert body["wallet_address"] == WALLET
    assert body["onboarding_url"] is None
    assert body["onboarding_url_expires_at"] is None
    merchant = Merchant.objects.get(pk=body["merchant_id"])
    assert merchant.wallet_type == Merchant.WalletType.EXTERNAL
    assert merchant.is_ready
    assert merchant.onboarding_token_hash == ""


def test_lowercase_wallet_without_checksum_is_accepted(create):
    response = create({"wallet_address": WALLET.lower()})
    assert response.status_code == 201
    assert response.json()["wallet_address"] == WALLET.lower()


def test_empty_object_creates_a_shell_merchant_with_defaults(create):
    response = create({})
    assert response.status_code == 201
    body = response.json()
    assert body["account_type"] == "business"
    for field in (
        "email",
        "display_name",
        "business_name",
        "country",
        "phone",
        "website",
        "instagram",
        "industry",
        "display_currency",
    ):
        assert body[field] is None, field  # empty strings render as null


def test_test_key_creates_a_test_mode_merchant(create, api_test):
    response = create({"display_name": "T"}, client=api_test)
    assert response.status_code == 201
    assert response.json()["test_mode"] is True
    assert Merchant.objects.get(pk=response.json()["merchant_id"]).test_mode is True


def test_unknown_and_read_only_fields_are_ignored(create):
    response = create(
        {
            "display_name": "A",
            "foo": [1, 2],
            "onboarding_status": "complete",
            "test_mode": True,
            "disabled": True,
            "auto_forward": True,
            "merchant_id": "not-a-uuid",
            "withdraw_address": "nope",
        }
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["onboarding_status"] == "incomplete"
    assert (body["test_mode"], body["disabled"], body["auto_forward"]) == (
        False,
        False,
        False,
    )
    assert body["withdraw_address"] is None


def test_free_text_is_trimmed_and_maximum_lengths_are_accepted(create):
    body = {
        "display_name": "  Mia  ",
        "business_name": "b" * 120,
        "phone": "1" * 32,
        "website": "w" * 200,
        "instagram": "i" * 200,
        "industry": "n" * 80,
        "email": "x" * 64 + "@" + ("d" * 61 + ".") * 3 + "com",
    }
    response = create(body)
    assert response.status_code == 201, response.content
    assert response.json()["display_name"] == "Mia"
    assert response.json()["business_name"] == "b" * 120


@pytest.mark.parametrize(
    "field",
    [
        "email",
        "display_name",
        "business_name",
        "country",
        "phone",
        "website",
        "instagram",
        "industry",
        "display_currency",
        "account_type",
        "wallet_address",
        "idempotency_key",
    ],
)
def test_null_means_not_given(create, field):
    response = create({field: None})
    assert response.status_code == 201, response.content
    body = response.json()
    if field == "account_type":
        assert body[field] == "business"
    elif field != "idempotency_key":
        assert body[field] is None


# --- validation: every code, over HTTP ---------------------------------------------

CASES = [
    ({"email": "not-an-email"}, "invalid_email", None),
    ({"email": "a@localhost"}, "invalid_email", None),
    ({"email": "x" * 64 + "@" + ("d" * 61 + ".") * 3 + "come"}, "invalid_email", None),
    ({"email": "a@b.co\u0000"}, "invalid_email", None),
    ({"country": "de"}, "invalid_country", None),
    ({"country": "XX"}, "invalid_country", None),
    ({"country": "DEU"}, "invalid_country", None),
    ({"wallet_address": "0x1234"}, "invalid_wallet_address", None),
    ({"wallet_address": BAD_WALLET}, "invalid_wallet_address", None),
    ({"wallet_address": WALLET[2:]}, "invalid_wallet_address", None),
    ({"account_type": "company"}, "invalid_account_type", None),
    ({"account_type": ""}, "invalid_account_type", None),
    ({"account_type": "Business"}, "invalid_account_type", None),
    ({"display_currency": "XYZ"}, "invalid_currency", None),
    ({"display_currency": "eur"}, "invalid_currency", None),
    ({"display_currency": "BTC"}, "invalid_currency", None),
    (
        {"display_currency": "CHF"},
        "unsupported_currency",
        None,
    ),  # one of 28, not enabled
    ({"idempotency_key": "too-short"}, "invalid_idempotency_key", None),
    ({"idempotency_key": "k" * 65}, "invalid_idempotency_key", None),
    ({"idempotency_key": "k" * 31 + "="}, "invalid_idempotency_key", None),
    ({"idempotency_key": ""}, "invalid_idempotency_key", None),
    ({"display_name": "x" * 121}, "invalid_request", "display_name"),
    ({"business_name": "x" * 121}, "invalid_request", "business_name"),
    ({"phone": "1" * 33}, "invalid_request", "phone"),
    ({"website": "w" * 201}, "invalid_request", "website"),
    ({"instagram": "i" * 201}, "invalid_request", "instagram"),
    ({"industry": "n" * 81}, "invalid_request", "industry"),
    ({"display_name": "nul\u0000byte"}, "invalid_request", "display_name"),
    ({"business_name": "line\nbreak"}, "invalid_request", "business_name"),
]


@pytest.mark.parametrize(("body", "code", "field"), CASES)
def test_validation_codes(create, body, code, field):
    body_out = refusal(create(body))
    assert body_out["error"] == code
    assert body_out.get("field") == field
    assert Merchant.objects.count() == 0  # never a half-written row


@pytest.mark.parametrize(
    ("field", "code"),
    [
        ("industry", "invalid_request"),
        ("display_name", "invalid_request"),
        ("email", "invalid_email"),
        ("country", "invalid_country"),
        ("wallet_address", "invalid_wallet_address"),
        ("idempotency_key", "invalid_idempotency_key"),
    ],
)
def test_lone_surrogates_are_refused_not_a_500(api, field, code):
    # Valid JSON (an escaped lone surrogate) that UTF-8 and PostgreSQL cannot store.
    raw = (f'{{"{field}": "x\\ud800y"}}').encode()
    response = api.generic("POST", URL, raw, content_type="application/json")
    assert refusal(response)["error"] == code
    assert Merchant.objects.count() == 0


def test_a_valid_field_beside_an_invalid_one_writes_nothing(create):
    refusal(create({"display_name": "Fine", "country": "ZZ"}))
    assert Merchant.objects.count() == 0


# D4: a wrong JSON type of a known field → its own code, else invalid_request+field.
FIELD_CODES = {
    "email": ("invalid_email", None),
    "country": ("invalid_country", None),
    "display_currency": ("invalid_currency", None),
    "account_type": ("invalid_account_type", None),
    "wallet_address": ("invalid_wallet_address", None),
    "idempotency_key": ("invalid_idempotency_key", None),
    "display_name": ("invalid_request", "display_name"),
    "business_name": ("invalid_request", "business_name"),
    "phone": ("invalid_request", "phone"),
    "website": ("invalid_request", "website"),
    "instagram": ("invalid_request", "instagram"),
    "industry": ("invalid_request", "industry"),
}
WRONG_TYPES = [0, 42, -1, 1.5, True, False, [], ["DE"], {}, {"a": "b"}]


@pytest.mark.parametrize("field", sorted(FIELD_CODES))
@pytest.mark.parametrize("value", WRONG_TYPES, ids=repr)
def test_wrong_json_types_get_the_fields_code(create, field, value):
    code, err_field = FIELD_CODES[field]
    body = refusal(create({field: value}))
    assert (body["error"], body.get("field")) == (code, err_field)


@pytest.mark.parametrize(
    "raw",
    [b"[1, 2]", b'"text"', b"null", b"42", b"true", b"{not json", b"", b'{"a": NaN}'],
)
def test_body_that_is_not_a_json_object_is_invalid_body(api, raw):
    response = api.generic("POST", URL, raw, content_type="application/json")
    assert refusal(response)["error"] == "invalid_body"
    assert Merchant.objects.count() == 0


@pytest.mark.parametrize("length", ["abc", "-1", "1e3"])
def test_a_content_length_that_is_not_a_number_is_invalid_body(api, length):
    response = api.generic(
        "POST",
        URL,
        b'{"display_name": "x"}',
        content_type="application/json",
        CONTENT_LENGTH=length,
    )
    assert refusal(response)["error"] == "invalid_body"
    assert Merchant.objects.count() == 0


def test_missing_body_and_non_json_content_type_are_invalid_body(api):
    assert refusal(api.post(URL))["error"] == "invalid_body"
    form = api.post(URL, {"display_name": "x"})  # multipart form
    assert refusal(form)["error"] == "invalid_body"
    text = api.generic("POST", URL, b'{"display_name": "x"}', content_type="text/plain")
    assert refusal(text)["error"] == "invalid_body"
    assert Merchant.objects.count() == 0


@pytest.mark.parametrize(
    ("path", "method"),
    [("/api/v1/merchants", "post"), ("/api/v1/merchants/{merchant_id}", "patch")],
)
def test_the_openapi_document_says_the_body_is_required(client, path, method):
    """D34: a missing body is invalid_body (above, and on PATCH). Every field
    being optional made drf-spectacular mark the body optional, so a client
    generated from /api/v1/schema offered these calls without one."""
    from tests.openapi import schema_document

    operation = schema_document(client)["paths"][path][method]
    assert operation["requestBody"]["required"] is True


# --- idempotency (D5, D17) ------------------------------------------------------------


def test_same_key_and_same_body_replays_the_original(create):
    key = new_key()
    first = create({"display_name": "Once", "country": "DE", "idempotency_key": key})
    assert first.status_code == 201
    # Key order, ignored unknown fields and null-vs-absent do not change "the body".
    again = create(
        {
            "idempotency_key": key,
            "country": "DE",
            "display_name": "Once",
            "unknown": 1,
            "email": None,
        }
    )
    assert again.status_code == 200, again.content
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Merchant.objects.count() == 1


def test_replay_returns_the_current_state(create, api):
    key = new_key()
    first = create({"display_name": "Before", "idempotency_key": key}).json()
    api.patch(f"{URL}/{first['merchant_id']}", {"display_name": "After"}, format="json")
    again = create({"display_name": "Before", "idempotency_key": key})
    assert again.status_code == 200
    assert again.json()["display_name"] == "After"
    assert again.json()["merchant_id"] == first["merchant_id"]


def test_same_key_with_a_different_body_is_a_conflict(create):
    key = new_key()
    assert create({"display_name": "A", "idempotency_key": key}).status_code == 201
    conflict = refusal(
        create({"display_name": "B", "idempotency_key": key}), status=409
    )
    assert conflict["error"] == "idempotency_conflict"
    also = refusal(
        create({"display_name": "A", "wallet_address": WALLET, "idempotency_key": key}),
        status=409,
    )
    assert also["error"] == "idempotency_conflict"
    assert Merchant.objects.count() == 1


@pytest.mark.parametrize(("first", "again"), [("lower", "eip55"), ("eip55", "lower")])
def test_a_retry_spelling_the_same_wallet_in_another_case_replays(create, first, again):
    """D17: same key, same normalised fields. The EIP-55 and the lower-case
    spelling are one address (a client library may checksum it between the
    first try and the retry): a replay of the original, not a conflict."""
    spelling = {"lower": WALLET.lower(), "eip55": WALLET}
    key = new_key()
    created = create({"wallet_address": spelling[first], "idempotency_key": key})
    assert created.status_code == 201
    retry = create({"wallet_address": spelling[again], "idempotency_key": key})
    assert retry.status_code == 200, retry.json()
    assert retry["Idempotent-Replayed"] == "true"
    assert retry.json() == created.json()  # the original, as it was stored
    assert Merchant.objects.count() == 1
    other = create({"wallet_address": "0x" + "b" * 40, "idempotency_key": key})
    assert refusal(other, status=409)["error"] == "idempotency_conflict"


def test_keys_are_scoped_to_partner_and_mode(
    create, api_test, client_for, other_partner
):
    key = new_key()
    body = {"display_name": "Same", "idempotency_key": key}
    live = create(body)
    test = create(body, client=api_test)
    bob = create(body, client=client_for(other_partner))
    assert [r.status_code for r in (live, test, bob)] == [201, 201, 201]
    assert len({r.json()["merchant_id"] for r in (live, test, bob)}) == 3


def test_creates_without_a_key_are_never_deduplicated(create):
    assert create({"display_name": "Twin"}).status_code == 201
    assert create({"display_name": "Twin"}).status_code == 201
    assert Merchant.objects.count() == 2


# --- auth, scope, rate limit (D7, D9, D27) -------------------------------------------


def test_no_key_is_unauthorized(client):
    response = client.post(URL, {}, content_type="application/json")
    assert refusal(response, status=401)["error"] == "unauthorized"


def test_create_needs_merchants_write(create, client_for, partner):
    reader = client_for(partner, scopes=["merchants:read", "requests:write"])
    body = refusal(create({"display_name": "x"}, client=reader), status=403)
    assert body["error"] == "insufficient_scope"
    assert body["required_scope"] == "merchants:write"
    writer = client_for(partner, scopes=["merchants:write"])
    assert create({"display_name": "x"}, client=writer).status_code == 201


def test_the_31st_create_in_a_minute_is_rate_limited(create, frozen_clock):
    statuses = []
    for i in range(30):
        response = create({"display_name": f"Shop {i}"})
        statuses.append(response.status_code)
        assert response["X-RateLimit-Limit"] == "30"
        assert response["X-RateLimit-Remaining"] == str(29 - i)
        assert 1 <= int(response["X-RateLimit-Reset"]) <= 60
    assert statuses == [201] * 30
    limited = create({"display_name": "one too many"})
    body = refusal(limited, status=429)
    assert body["error"] == "rate_limited"
    assert 1 <= int(limited["Retry-After"]) <= 60
    assert limited["X-RateLimit-Limit"] == "30"
    assert limited["X-RateLimit-Remaining"] == "0"
    assert "X-RateLimit-Reset" in limited
    assert Merchant.objects.count() == 30


def test_create_and_list_have_separate_counters(create, api, frozen_clock):
    for i in range(30):
        create({"display_name": f"Shop {i}"})
    assert create({}).status_code == 429
    listing = api.get(URL)
    assert listing.status_code == 200
    assert listing["X-RateLimit-Limit"] == "60"


def test_replay_answers_even_after_the_partner_disabled_the_currency(create, partner):
    key = new_key()
    body = {"display_currency": "USD", "idempotency_key": key}
    first = create(body)
    assert first.status_code == 201
    partner.enabled_currencies = ["EUR"]
    partner.save()
    again = create(body)
    assert again.status_code == 200
    assert again.json()["merchant_id"] == first.json()["merchant_id"]
    fresh = refusal(create({"display_currency": "USD", "idempotency_key": new_key()}))
    assert fresh["error"] == "unsupported_currency"
