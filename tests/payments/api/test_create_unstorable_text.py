"""Create with text PostgreSQL or UTF-8 cannot hold (D4, D17, D34).

A lone surrogate (valid as the JSON escape ``\\ud800``) cannot be encoded as
UTF-8, and PostgreSQL refuses NUL in text and JSON. Either used to fail as a
500 (the idempotency hash, or the INSERT); each now answers the field's own
code and writes nothing.
"""

from __future__ import annotations

import json

import pytest

from payments.models import PaymentRequest

pytestmark = pytest.mark.usefixtures("rates")

URL = "/api/v1/requests/create"
KEY = "k" * 40


def _post(client, merchant, **fields):
    body = {"merchant_id": str(merchant.pk), "fiat_amount_int": 2500, **fields}
    # ensure_ascii: a surrogate goes on the wire as the escape "\ud800".
    raw = json.dumps(body, ensure_ascii=True)
    return client.generic("POST", URL, raw, content_type="application/json")


def _assert_refused(response, code, field=None):
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["error"] == code
    assert body.get("field") == field
    assert PaymentRequest.objects.count() == 0


SURROGATE = "x\ud800y"
# field → (value carrying a lone surrogate, code, field in the envelope)
SURROGATE_CASES = {
    "memo": (SURROGATE, "invalid_memo", None),
    "metadata_key": ({SURROGATE: "v"}, "invalid_request", "metadata"),
    "metadata_value": ({"k": SURROGATE}, "invalid_request", "metadata"),
    "return_url_path": ("https://shop.example/\udc00", "invalid_return_url", None),
    "return_url_host": ("https://sh\ud800op.example/", "invalid_return_url", None),
    "merchant_id": (SURROGATE, "invalid_merchant_id", None),
    "fiat_currency_code": ("EU\ud800", "invalid_currency", None),
    "payment_mode": ("pos\ud800", "invalid_request", "payment_mode"),
    "expires_in_seconds": (SURROGATE, "invalid_expiry", None),
    "fiat_amount_int": (SURROGATE, "invalid_amount", None),
    "idempotency_key": ("k" * 39 + "\ud800", "invalid_idempotency_key", None),
}


def _fields(case: str, value) -> dict:
    name = {
        "metadata_key": "metadata",
        "metadata_value": "metadata",
        "return_url_path": "return_url",
        "return_url_host": "return_url",
    }.get(case, case)
    return {name: value}


@pytest.mark.parametrize("case", sorted(SURROGATE_CASES))
def test_lone_surrogate_answers_the_field_code(api, merchant, case):
    value, code, field = SURROGATE_CASES[case]
    _assert_refused(_post(api, merchant, **_fields(case, value)), code, field)


# Every field but the key itself (it is the bad field in its own case).
@pytest.mark.parametrize("case", sorted(set(SURROGATE_CASES) - {"idempotency_key"}))
def test_lone_surrogate_with_a_fresh_idempotency_key_answers_the_field_code(
    api, merchant, case
):
    value, code, field = SURROGATE_CASES[case]
    response = _post(api, merchant, idempotency_key=KEY, **_fields(case, value))
    _assert_refused(response, code, field)


def test_lone_surrogate_under_a_used_key_is_a_conflict_not_a_500(api, merchant):
    first = _post(api, merchant, idempotency_key=KEY, memo="xy")
    assert first.status_code == 201
    # D17: same key, another body (it can never equal a stored one).
    again = _post(api, merchant, idempotency_key=KEY, memo=SURROGATE)
    assert (again.status_code, again.json()["error"]) == (409, "idempotency_conflict")
    assert PaymentRequest.objects.count() == 1


def test_surrogate_in_an_unknown_field_is_ignored(api, merchant):
    response = _post(api, merchant, note=SURROGATE)  # D4: unknown fields ignored
    assert response.status_code == 201, response.content


# NUL and other control characters: PostgreSQL refuses NUL in text and jsonb.
NUL_CASES = {
    "return_url_nul": (
        {"return_url": "https://shop.example/a\x00b"},
        "invalid_return_url",
        None,
    ),
    "return_url_control": (
        {"return_url": "https://shop.example/a\x01b"},
        "invalid_return_url",
        None,
    ),
    "return_url_newline": (
        {"return_url": "https://shop.example/a\nb"},
        "invalid_return_url",
        None,
    ),
    "memo_nul": ({"memo": "a\x00b"}, "invalid_memo", None),
    "metadata_key_nul": ({"metadata": {"a\x00b": "v"}}, "invalid_request", "metadata"),
    "metadata_value_nul": (
        {"metadata": {"k": "a\x00b"}},
        "invalid_request",
        "metadata",
    ),
    "currency_nul": ({"fiat_currency_code": "EUR\x00"}, "invalid_currency", None),
    "payment_mode_nul": (
        {"payment_mode": "pos\x00"},
        "invalid_request",
        "payment_mode",
    ),
    "merchant_id_nul": ({"merchant_id": "\x00"}, "invalid_merchant_id", None),
    "idempotency_key_nul": (
        {"idempotency_key": "k" * 39 + "\x00"},
        "invalid_idempotency_key",
        None,
    ),
}


@pytest.mark.parametrize("case", sorted(NUL_CASES))
def test_nul_and_control_characters_answer_the_field_code(api, merchant, case):
    fields, code, field = NUL_CASES[case]
    _assert_refused(_post(api, merchant, **fields), code, field)
