"""An error's message says what went wrong with *this* call (D2, D4, D34).

Clients program against ``error``; the message is for the developer reading
the answer. A generic sentence that fits every cause of a code (the body
"missing or not a JSON object" for a form-encoded body, "a required field is
missing" for a field that was sent with a bad value) sent integrators looking
in the wrong place. The codes, statuses and extra keys are unchanged.
"""

from __future__ import annotations

import pytest

CREATE = "/api/v1/requests/create"


def _error(response, code: str = "invalid_body") -> dict:
    body = response.json()
    assert response.status_code == 400, body
    assert body["error"] == code, body
    return body


def test_a_body_without_the_json_content_type_names_the_header(api):
    # curl -d without -H 'Content-Type: application/json' sends a form type.
    body = _error(
        api.generic(
            "POST",
            CREATE,
            '{"fiat_amount_int": 1}',
            content_type="application/x-www-form-urlencoded",
        )
    )
    assert "Content-Type: application/json" in body["message"]


def test_an_empty_body_says_it_is_empty(api):
    body = _error(api.generic("POST", CREATE, "", content_type="application/json"))
    assert "empty" in body["message"]


def test_malformed_json_says_where_it_broke(api):
    body = _error(
        api.generic(
            "POST", CREATE, '{"fiat_amount_int": 1,}', content_type="application/json"
        )
    )
    assert "not valid JSON" in body["message"]
    assert "char 22" in body["message"]


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        ("[]", "an array"),
        ('"x"', "a string"),
        ("12", "a number"),
        ("null", "null"),
        ("true", "a boolean"),
    ],
)
def test_json_that_is_not_an_object_says_what_it_is(api, raw, kind):
    body = _error(api.generic("POST", CREATE, raw, content_type="application/json"))
    assert f"not {kind}" in body["message"]


def test_invalid_request_names_the_field_in_its_message(api, merchant):
    body = _error(
        api.post(
            CREATE,
            {
                "merchant_id": str(merchant.pk),
                "fiat_amount_int": 500,
                "payment_mode": "POS",
            },
            format="json",
        ),
        "invalid_request",
    )
    assert body["field"] == "payment_mode"
    assert "payment_mode" in body["message"]
    assert "a required field is missing" not in body["message"]  # it was sent


def test_a_bad_query_parameter_is_named_in_the_message(api):
    body = _error(api.get("/api/v1/requests?status=PAID"), "invalid_request")
    assert body["field"] == "status"
    assert "status" in body["message"]


def test_a_body_over_the_upload_limit_says_it_is_too_large(api, settings):
    raw = '{"memo":"' + "x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE + '"}'
    body = _error(api.generic("POST", CREATE, raw, content_type="application/json"))
    assert "larger" in body["message"]
    assert "missing" not in body["message"]
