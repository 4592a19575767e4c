"""POST /pay/<id>/proof with bodies that are not usable (D32, D34).

The pay page parses its own body (JSON or form). Whatever arrives, the answer
is the registry envelope, never a 500, and the request keeps ``proof_status``
``none``.
"""

from __future__ import annotations

import pytest

from payments.models import PaymentRequest

pytestmark = pytest.mark.usefixtures("rates")

HASH = "0x" + "5a" * 32
DEEP = '{"tx_hash":' + "[" * 1500 + "]" * 1500 + "}"


@pytest.fixture
def pr(api, create):
    response = create(api)
    assert response.status_code == 201, response.json()
    return PaymentRequest.objects.get(pk=response.json()["request_id"])


def _proof(client, pr, raw, content_type):
    return client.generic("POST", f"/pay/{pr.pk}/proof", raw, content_type=content_type)


def _assert_error(response, pr, code):
    assert response.status_code == 400, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert (body["ok"], body["error"]) == (False, code)
    pr.refresh_from_db()
    assert pr.proof_status == PaymentRequest.ProofStatus.NONE


@pytest.mark.parametrize(
    "raw",
    [
        DEEP,
        # Parses, but deeper than any body JoPay takes (MAX_JSON_DEPTH).
        '{"tx_hash": "' + HASH + '", "extra":' + "[" * 200 + "]" * 200 + "}",
        b"\xff\xfe{}",  # not UTF-8
        "",
    ],
)
def test_unusable_json_body_is_invalid_body(client, pr, raw):
    _assert_error(_proof(client, pr, raw, "application/json"), pr, "invalid_body")


@pytest.mark.parametrize(
    "content_type",
    ["application/x-www-form-urlencoded", "multipart/form-data; boundary=xyz"],
)
def test_empty_form_body_is_invalid_body(client, pr, content_type):
    # A browser's empty form: the form content type with Content-Length 0 (the
    # test client drops CONTENT_TYPE for an empty body unless it is forced).
    response = client.generic(
        "POST",
        f"/pay/{pr.pk}/proof",
        "",
        CONTENT_TYPE=content_type,
        CONTENT_LENGTH="0",
    )
    _assert_error(response, pr, "invalid_body")


def test_multipart_form_without_fields_is_invalid_body(client, pr):
    response = client.post(f"/pay/{pr.pk}/proof", {})  # multipart, no parts
    _assert_error(response, pr, "invalid_body")


def test_multipart_without_a_boundary_is_invalid_body(client, pr):
    raw = "--x\r\nContent-Disposition: form-data; name=tx_hash\r\n\r\n0x12\r\n--x--"
    _assert_error(_proof(client, pr, raw, "multipart/form-data"), pr, "invalid_body")


def test_form_without_tx_hash_still_names_the_field(client, pr):
    # Not empty: a field without its own value answers the field's code (D34).
    response = _proof(client, pr, "chain_id=1", "application/x-www-form-urlencoded")
    _assert_error(response, pr, "invalid_tx_hash")


def test_json_object_without_tx_hash_still_names_the_field(client, pr):
    _assert_error(_proof(client, pr, "{}", "application/json"), pr, "invalid_tx_hash")
