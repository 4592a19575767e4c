"""The API reference at /docs/api/ declares the headers the API really sends (D5, D27).

The reference is generated from ``/api/v1/schema``. Partners read response
headers there as much as bodies, so each contract header a live answer
carries — ``X-RateLimit-*`` and ``X-Request-Id`` on every v1 answer,
``Idempotent-Replayed`` on an idempotent replay (D5), ``Retry-After`` on
``rate_limited`` (D27) — must be declared on that operation's response.
"""

from __future__ import annotations

import pytest

from tests.openapi import schema_document

CONTRACT_HEADERS = (
    "X-RateLimit-Limit",
    "X-RateLimit-Remaining",
    "X-RateLimit-Reset",
    "X-Request-Id",
    "Idempotent-Replayed",
    "Retry-After",
)
KEY = "d" * 40


def undeclared(doc, path: str, method: str, response) -> list[str]:
    declared = doc["paths"][path][method]["responses"][str(response.status_code)]
    headers = declared.get("headers", {})
    return [h for h in CONTRACT_HEADERS if response.has_header(h) and h not in headers]


@pytest.fixture
def doc(api):
    return schema_document(api)


def create_bodies(merchant) -> dict[str, dict]:
    return {
        "/api/v1/requests/create": {
            "merchant_id": str(merchant.pk),
            "fiat_amount_int": 2500,
        },
        "/api/v1/merchants": {"business_name": "Aurora"},
        "/api/v1/recurring/plans": {
            "merchant_id": str(merchant.pk),
            "fiat_amount_int": 1500,
            "frequency": "monthly",
            "customer_wallet": "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
        },
    }


@pytest.mark.parametrize(
    "path", ["/api/v1/requests/create", "/api/v1/merchants", "/api/v1/recurring/plans"]
)
def test_an_idempotent_replay_declares_its_header(api, doc, merchant, fx_rates, path):
    body = {**create_bodies(merchant)[path], "idempotency_key": KEY}
    first = api.post(path, body, format="json")
    replay = api.post(path, body, format="json")
    assert (first.status_code, replay.status_code) == (201, 200)
    assert replay["Idempotent-Replayed"] == "true"

    assert undeclared(doc, path, "post", first) == []
    assert undeclared(doc, path, "post", replay) == []


def test_rate_limited_declares_retry_after(api, doc, partner):
    from webhooks.services import webhook_endpoint_set

    webhook_endpoint_set(partner=partner, url="https://127.0.0.1:9/jopay", enabled=True)
    answers = [api.post("/api/v1/webhooks/test") for _ in range(6)]  # 5 per minute
    refused = answers[-1]
    assert refused.status_code == 429
    assert refused["Retry-After"]

    assert undeclared(doc, "/api/v1/webhooks/test", "post", refused) == []
    assert undeclared(doc, "/api/v1/webhooks/test", "post", answers[0]) == []


def test_every_rate_limited_answer_declares_retry_after(doc):
    for path, operations in doc["paths"].items():
        if path == "/api/v1/schema":
            continue
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            headers = operation["responses"]["429"].get("headers", {})
            assert "Retry-After" in headers, f"{method.upper()} {path}"
