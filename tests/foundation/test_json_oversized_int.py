"""A JSON integer too long for Python's int-string limit is still a JSON integer.

``json.loads`` refuses to convert more than 4 300 digits (``ValueError``), so a
``fiat_amount_int`` of 5 000 digits made the whole body ``invalid_body``. D4:
``invalid_body`` is for a body that is not a JSON object; D13: an amount
outside 1 … 2 147 483 647 is ``invalid_amount``. The parser now reads such a
literal as an out-of-range integer, and each field answers its own code.
"""

from __future__ import annotations

import io
import json

import pytest

from jopay_project import parsers
from payments.models import PaymentRequest
from recurring.models import Plan
from tests.recurring.conftest import CUSTOMER

HUGE = "9" * 5000  # past the default limit of 4 300 digits
REQUESTS = "/api/v1/requests/create"
PLANS = "/api/v1/recurring/plans"


def _post(client, path: str, raw: str):
    return client.generic("POST", path, raw.encode(), content_type="application/json")


def _fields(merchant, **fields: str) -> str:
    """A JSON object text; ``fields`` values are raw JSON (so may be huge)."""
    pairs = {"merchant_id": json.dumps(str(merchant.pk)), **fields}
    return "{" + ", ".join(f'"{k}": {v}' for k, v in pairs.items()) + "}"


def _error(response) -> dict:
    assert response.status_code == 400, response.content
    return response.json()


# --- the parser ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "literal",
    ["0", "-0", "1", "-1", "2147483647", "2147483648", "9" * 4000, "-" + "9" * 4000],
)
def test_ordinary_integers_parse_exactly_as_before(literal):
    assert parsers.parse_json_int(literal) == int(literal)
    assert type(parsers.parse_json_int(literal)) is int


@pytest.mark.parametrize("digits", [4001, 4301, 100_000])
def test_too_long_literals_parse_as_an_out_of_range_int_with_their_sign(digits):
    huge = parsers.OVERSIZED_INT
    assert parsers.parse_json_int("9" * digits) == huge
    assert parsers.parse_json_int("-" + "9" * digits) == -huge
    assert type(parsers.parse_json_int("9" * digits)) is int  # not bool nor float
    assert huge > 2**63
    assert len(str(huge)) == 4001  # still convertible: the body hash (D17) dumps it


def test_the_drf_parser_reads_huge_integers_and_leaves_floats_alone():
    raw = f'{{"a": {HUGE}, "b": -{HUGE}, "c": 2500, "d": 1.5, "e": 1e5000}}'
    data = parsers.JSONParser().parse(io.BytesIO(raw.encode()), "application/json")
    assert data["a"] == parsers.OVERSIZED_INT
    assert data["b"] == -parsers.OVERSIZED_INT
    assert data["c"] == 2500
    assert type(data["d"]) is float
    assert data["e"] == float("inf")


# --- requests (D13, D11) ------------------------------------------------------------


@pytest.mark.parametrize("amount", [HUGE, "-" + HUGE])
def test_request_with_a_huge_amount_is_invalid_amount(api, merchant, amount):
    body = _error(_post(api, REQUESTS, _fields(merchant, fiat_amount_int=amount)))
    assert body["error"] == "invalid_amount"  # D13, not invalid_body
    assert not PaymentRequest.objects.exists()


def test_request_with_a_huge_expiry_is_invalid_expiry(api, merchant):
    raw = _fields(merchant, fiat_amount_int="2500", expires_in_seconds=HUGE)
    assert _error(_post(api, REQUESTS, raw))["error"] == "invalid_expiry"  # D11


def test_a_huge_integer_in_metadata_or_an_unknown_field_is_not_invalid_body(
    api, merchant
):
    raw = _fields(merchant, fiat_amount_int="2500", metadata=f'{{"a": {HUGE}}}')
    body = _error(_post(api, REQUESTS, raw))
    assert (body["error"], body["field"]) == ("invalid_request", "metadata")
    # D4: an unknown field is ignored, whatever it holds.
    raw = _fields(merchant, fiat_amount_int="0", extra=HUGE)
    assert _error(_post(api, REQUESTS, raw))["error"] == "invalid_amount"


# --- plans (D13, D29) ---------------------------------------------------------------


def _plan(merchant, **fields: str) -> str:
    base = {
        "fiat_amount_int": "2500",
        "frequency": '"monthly"',
        "customer_wallet": json.dumps(CUSTOMER),
    }
    return _fields(merchant, **{**base, **fields})


@pytest.mark.parametrize("amount", [HUGE, "-" + HUGE])
def test_plan_with_a_huge_amount_is_invalid_amount(api, merchant, amount):
    body = _error(_post(api, PLANS, _plan(merchant, fiat_amount_int=amount)))
    assert body["error"] == "invalid_amount"  # D13, not invalid_body
    assert not Plan.objects.exists()


@pytest.mark.parametrize("value", [HUGE, "-" + HUGE])
def test_plan_with_huge_max_charges_is_invalid_request(api, merchant, value):
    body = _error(_post(api, PLANS, _plan(merchant, max_charges=value)))
    assert (body["error"], body["field"]) == ("invalid_request", "max_charges")


def test_plan_with_a_huge_chain_id_answers_as_any_unknown_chain(api, merchant):
    # A merely large id and a 5 000-digit one are the same answer (D19).
    large = _error(_post(api, PLANS, _plan(merchant, chain_id=str(10**30))))
    huge = _error(_post(api, PLANS, _plan(merchant, chain_id=HUGE)))
    assert huge["error"] == large["error"] == "unsupported_chain"
    negative = _error(_post(api, PLANS, _plan(merchant, chain_id="-" + HUGE)))
    assert (negative["error"], negative["field"]) == ("invalid_request", "chain_id")
    assert not Plan.objects.exists()


def test_plan_with_a_huge_amount_and_an_idempotency_key_is_invalid_amount(
    api, merchant
):
    # The body is hashed before validation (D17); the hash takes the value too.
    raw = _plan(merchant, fiat_amount_int=HUGE, idempotency_key=json.dumps("k" * 40))
    assert _error(_post(api, PLANS, raw))["error"] == "invalid_amount"
