"""Merchant and plan fields with text UTF-8 or PostgreSQL cannot hold (D4).

The shared validators in ``merchants.validation`` refuse lone surrogates and
NUL with the field's own code, whichever endpoint calls them, so nothing
reaches the database as a 500.
"""

from __future__ import annotations

import hashlib
import json

import pytest

from jopay_project.errors import JoPayError
from merchants.models import Merchant
from merchants.validation import body_hash, validate_email
from recurring.models import Plan

CUSTOMER = "0x" + "ab" * 20


def _send(client, method, path, body):
    raw = json.dumps(body, ensure_ascii=True)  # "\ud800" travels as an escape
    return client.generic(method, path, raw, content_type="application/json")


def _assert_error(response, code, field=None):
    assert response.status_code == 400, response.content
    body = response.json()
    assert (body["error"], body.get("field")) == (code, field)


BAD_EMAILS = ["a@b\ud800.example", "a@b\udfff.com", "a@b.com\x00", "a\x00@b.com"]


@pytest.mark.parametrize("email", BAD_EMAILS)
def test_validate_email_refuses_surrogates_and_nul(email):
    with pytest.raises(JoPayError) as info:
        validate_email(email)
    assert info.value.code == "invalid_email"


@pytest.mark.parametrize("email", BAD_EMAILS)
def test_plan_customer_email_with_unstorable_text_is_invalid_email(
    api, merchant, email
):
    body = {
        "merchant_id": str(merchant.pk),
        "fiat_amount_int": 2500,
        "frequency": "monthly",
        "customer_wallet": CUSTOMER,
        "customer_email": email,
    }
    _assert_error(_send(api, "POST", "/api/v1/recurring/plans", body), "invalid_email")
    assert Plan.objects.count() == 0


PATCH_CASES = {
    "email": ("a@b\ud800.example", "invalid_email", None),
    "display_name": ("x\ud800", "invalid_request", "display_name"),
    "business_name": ("x\x00y", "invalid_request", "business_name"),
    "country": ("D\ud800", "invalid_country", None),
    "display_currency": ("EU\x00", "invalid_currency", None),
    "account_type": ("business\ud800", "invalid_account_type", None),
    "withdraw_address": ("0x" + "a" * 39 + "\ud800", "invalid_withdraw_address", None),
}


@pytest.mark.parametrize("name", sorted(PATCH_CASES))
def test_merchant_patch_with_unstorable_text_answers_the_field_code(
    api, merchant, name
):
    value, code, field = PATCH_CASES[name]
    before = Merchant.objects.filter(pk=merchant.pk).values().get()
    response = _send(api, "PATCH", f"/api/v1/merchants/{merchant.pk}", {name: value})
    _assert_error(response, code, field)
    assert Merchant.objects.filter(pk=merchant.pk).values().get() == before


def test_body_hash_is_total_and_unchanged_for_ordinary_text():
    # A surrogate no longer raises; ordinary text hashes as before (plain UTF-8),
    # so hashes stored before this change still match their replays.
    assert body_hash({"memo": "x\ud800y"}) != body_hash({"memo": "xy"})
    canonical = json.dumps(
        {"memo": "café €"}, separators=(",", ":"), ensure_ascii=False
    )
    expected = hashlib.sha256(canonical.encode("utf-8")).hexdigest()
    assert body_hash({"memo": "café €", "idempotency_key": "k"}) == expected
