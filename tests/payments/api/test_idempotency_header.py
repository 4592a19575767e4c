"""An ``Idempotency-Key`` header makes a create idempotent too (D17, D5).

JoPay reads ``idempotency_key`` from the body. A client that sent the header
most HTTP APIs use (Stripe's convention) got no error and no protection: each
retry made another payment request, merchant or plan, so a lost answer
became a second pay link. The header is now read as ``idempotency_key`` when
the body has none, under the same rules; the two disagreeing is refused.
"""

from __future__ import annotations

import hashlib

import pytest

from merchants.models import Merchant
from payments.models import PaymentRequest
from recurring.models import Plan
from tests.openapi import schema_document

pytestmark = pytest.mark.usefixtures("rates")

KEY = hashlib.sha256(b"checkout:order-7").hexdigest()
WALLET = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"


def _post(client, path, body, key=KEY):
    return client.post(path, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


@pytest.fixture
def creates(merchant):
    """(path, body, model) of each create endpoint, on alice's live merchant."""
    return [
        (
            "/api/v1/requests/create",
            {"merchant_id": str(merchant.pk), "fiat_amount_int": 2500},
            PaymentRequest,
        ),
        ("/api/v1/merchants", {"business_name": "Header Shop"}, Merchant),
        (
            "/api/v1/recurring/plans",
            {
                "merchant_id": str(merchant.pk),
                "fiat_amount_int": 1500,
                "frequency": "monthly",
                "customer_wallet": WALLET,
            },
            Plan,
        ),
    ]


def test_a_retry_with_the_header_replays_the_original(api, creates):
    for path, body, model in creates:
        before = model.objects.count()
        first = _post(api, path, body)
        again = _post(api, path, body)
        assert first.status_code == 201, (path, first.json())
        assert (again.status_code, again["Idempotent-Replayed"]) == (200, "true")
        assert again.json() == first.json()
        assert model.objects.count() == before + 1, path


def test_the_header_and_the_body_key_are_one_key(api, creates):
    for path, body, model in creates:
        before = model.objects.count()
        assert _post(api, path, body).status_code == 201
        again = api.post(path, {**body, "idempotency_key": KEY}, format="json")
        assert again.status_code == 200, path
        assert model.objects.count() == before + 1, path


def test_a_header_and_a_different_body_key_are_refused(api, creates):
    other = hashlib.sha256(b"checkout:order-8").hexdigest()
    for path, body, model in creates:
        before = model.objects.count()
        answer = _post(api, path, {**body, "idempotency_key": other})
        assert (answer.status_code, answer.json()["error"]) == (
            400,
            "invalid_idempotency_key",
        ), path
        assert model.objects.count() == before, path


def test_a_malformed_header_is_invalid_idempotency_key(api, creates):
    for path, body, model in creates:
        before = model.objects.count()
        answer = _post(api, path, body, key="order-7")
        assert (answer.status_code, answer.json()["error"]) == (
            400,
            "invalid_idempotency_key",
        ), path
        assert model.objects.count() == before, path


def test_the_api_reference_declares_the_header_on_each_create(client):
    doc = schema_document(client)
    for path in (
        "/api/v1/requests/create",
        "/api/v1/merchants",
        "/api/v1/recurring/plans",
    ):
        names = [p["name"] for p in doc["paths"][path]["post"].get("parameters", [])]
        assert names.count("Idempotency-Key") == 1, path
