"""The OpenAPI document (D3) admits every body the API accepts, and
describes the answers it gives in states a fresh account never reaches.

The docs state that ``null`` for an optional field means "not given" (D4,
/docs/#json-everywhere, /docs/requests/), and that on merchants ``null`` and
``""`` both mean "not set" (/docs/merchants/); a plan's optional
``customer_email`` and a metadata value may be ``""`` too. Each body below is
first sent for real and must be accepted; then the operation's request
schema in ``/api/v1/schema`` must accept it as well. A schema that refuses a
body the API takes makes generated clients and request validators refuse
valid calls.
"""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft202012Validator

from tests.factories import WALLET
from tests.openapi import schema_document
from tests.payments.conftest import rates  # noqa: F401  (a fixture)
from tests.webhooks.conftest import (  # noqa: F401  (fixtures)
    _receiver_ca,
    _receiver_server,
    receiver,
)

MERCHANT_TEXT = (
    "email",
    "display_name",
    "business_name",
    "country",
    "phone",
    "website",
    "instagram",
    "industry",
    "display_currency",
)


def _json_schema(node: Any) -> Any:
    """OpenAPI 3.0 → JSON Schema: ``nullable: true`` becomes a null alternative."""
    if isinstance(node, list):
        return [_json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out = {k: _json_schema(v) for k, v in node.items() if k != "nullable"}
    if node.get("nullable"):
        return {"anyOf": [out, {"type": "null"}]}
    return out


def schema_errors(doc: dict, method: str, path: str, body: dict) -> list[str]:
    operation = doc["paths"][path][method]
    schema = operation["requestBody"]["content"]["application/json"]["schema"]
    root = {
        **_json_schema(schema),
        "components": _json_schema(doc["components"]),
    }
    return [
        f"{'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in Draft202012Validator(
            root, format_checker=Draft202012Validator.FORMAT_CHECKER
        ).iter_errors(body)
    ]


@pytest.fixture
def doc(client, db):
    return schema_document(client)


def _accepted(response) -> None:
    assert response.status_code in (200, 201), response.json()


REQUEST_OPTIONAL = (
    "fiat_currency_code",
    "memo",
    "metadata",
    "payment_mode",
    "expires_in_seconds",
    "return_url",
    "idempotency_key",
)


@pytest.mark.usefixtures("rates")
@pytest.mark.parametrize("field", REQUEST_OPTIONAL)
def test_request_create_optional_null(api, merchant, doc, field):
    body = {"merchant_id": str(merchant.pk), "fiat_amount_int": 2500, field: None}
    _accepted(api.post("/api/v1/requests/create", body, format="json"))

    assert schema_errors(doc, "post", "/api/v1/requests/create", body) == []


@pytest.mark.parametrize(
    "body",
    [
        dict.fromkeys(MERCHANT_TEXT, "") | {"wallet_address": ""},
        dict.fromkeys(MERCHANT_TEXT)
        | {"wallet_address": None, "account_type": None, "idempotency_key": None},
    ],
    ids=["empty strings", "nulls"],
)
def test_merchant_create_unset_fields(api, doc, body):
    _accepted(api.post("/api/v1/merchants", body, format="json"))

    assert schema_errors(doc, "post", "/api/v1/merchants", body) == []


@pytest.mark.parametrize("blank", ["", None])
def test_merchant_update_clearing_fields(api, merchant, doc, blank):
    body = dict.fromkeys(MERCHANT_TEXT, blank) | {"withdraw_address": blank}
    path = "/api/v1/merchants/{merchant_id}"
    _accepted(api.patch(f"/api/v1/merchants/{merchant.pk}", body, format="json"))

    assert schema_errors(doc, "patch", path, body) == []


PLAN_OPTIONAL = (
    "customer_email",
    "metadata",
    "max_charges",
    "collection",
    "chain_id",
    "fiat_currency_code",
    "idempotency_key",
)


@pytest.mark.usefixtures("rates")
@pytest.mark.parametrize(
    "extra",
    [{"customer_email": ""}, {"metadata": {"ref": ""}}]
    + [{name: None} for name in PLAN_OPTIONAL],
    ids=lambda extra: "-".join(f"{k}={v!r}" for k, v in extra.items()),
)
def test_plan_create_optional_fields(api, merchant, doc, extra):
    body = {
        "merchant_id": str(merchant.pk),
        "fiat_amount_int": 2500,
        "frequency": "weekly",
        "customer_wallet": WALLET,
        **extra,
    }
    _accepted(api.post("/api/v1/recurring/plans", body, format="json"))

    assert schema_errors(doc, "post", "/api/v1/recurring/plans", body) == []


def test_webhook_endpoint_url_removed(api, doc):
    body = {"url": ""}
    _accepted(api.put("/api/v1/webhooks/endpoint", body, format="json"))

    assert schema_errors(doc, "put", "/api/v1/webhooks/endpoint", body) == []


def response_errors(doc: dict, method: str, path: str, response) -> list[str]:
    answer = doc["paths"][path][method]["responses"][str(response.status_code)]
    schema = answer["content"]["application/json"]["schema"]
    root = {**_json_schema(schema), "components": _json_schema(doc["components"])}
    validator = Draft202012Validator(
        root, format_checker=Draft202012Validator.FORMAT_CHECKER
    )
    return [
        f"{method} {path}: {'/'.join(map(str, e.absolute_path))}: {e.message}"
        for e in validator.iter_errors(response.json())
    ]


@pytest.mark.usefixtures("rates")
def test_answers_in_states_a_fresh_account_never_shows_match_the_schema(
    api, merchant, doc, request
):
    """Schemathesis (tests/resilience) only sees what its generated calls
    create; these answers carry what it never reaches: an onboarding link,
    a proof with its chain fields and mismatch reason, events with deliveries
    and logged attempts, a plan with charges."""
    from django.utils import timezone

    from payments.models import PaymentRequest
    from recurring.services.charging import plans_charge_due
    from webhooks.delivery import deliver
    from webhooks.models import WebhookDelivery

    inbox = request.getfixturevalue("receiver")
    answers = [
        (
            "put",
            "/api/v1/webhooks/endpoint",
            api.put(
                "/api/v1/webhooks/endpoint",
                {"url": inbox.url("/schema"), "enabled": True},
                format="json",
            ),
        )
    ]
    incomplete = api.post("/api/v1/merchants", {"email": "a@b.example"}, format="json")
    assert incomplete.json()["onboarding_url"]
    answers.append(("post", "/api/v1/merchants", incomplete))
    answers.append(("get", "/api/v1/merchants", api.get("/api/v1/merchants")))
    created = api.post(
        "/api/v1/requests/create",
        {"merchant_id": str(merchant.pk), "fiat_amount_int": 2500},
        format="json",
    ).json()
    PaymentRequest.objects.filter(pk=created["request_id"]).update(
        proof_status=PaymentRequest.ProofStatus.MISMATCH,
        tx_hash="0x" + "ab" * 32,
        chain_id=8453,
        payer_address=WALLET,
        proof_source="customer",
        mismatch_reason="underpaid",
    )
    path = f"/api/v1/requests/{created['request_id']}"
    answers.append(("get", "/api/v1/requests/{request_id}", api.get(path)))
    answers.append(
        ("post", "/api/v1/requests/{request_id}/cancel", api.post(f"{path}/cancel"))
    )
    answers.append(("get", "/api/v1/requests", api.get("/api/v1/requests")))
    plan = api.post(
        "/api/v1/recurring/plans",
        {
            "merchant_id": str(merchant.pk),
            "fiat_amount_int": 2500,
            "frequency": "daily",
            "customer_wallet": WALLET,
            "max_charges": 1,
        },
        format="json",
    ).json()
    plans_charge_due(now=timezone.now())
    answers.append(
        (
            "get",
            "/api/v1/recurring/plans/{plan_id}",
            api.get(f"/api/v1/recurring/plans/{plan['plan_id']}"),
        )
    )
    answers.append(
        ("get", "/api/v1/recurring/plans", api.get("/api/v1/recurring/plans"))
    )
    for delivery in WebhookDelivery.objects.all():
        deliver(delivery_id=str(delivery.pk))
    events = api.get("/api/v1/events")
    assert any(e["deliveries"][0]["attempt_log"] for e in events.json()["data"])
    answers.append(("get", "/api/v1/events", events))
    event_id = events.json()["data"][0]["event_id"]
    answers.append(
        (
            "post",
            "/api/v1/events/{event_id}/resend",
            api.post(f"/api/v1/events/{event_id}/resend"),
        )
    )

    errors = [e for m, p, answer in answers for e in response_errors(doc, m, p, answer)]

    assert errors == []


@pytest.mark.parametrize(
    ("accept", "kind"),
    [
        ("text/html", "yaml"),
        ("application/xml", "yaml"),
        ("application/json", "json"),
        ("application/vnd.oai.openapi+json", "json"),
    ],
)
def test_the_document_is_served_whatever_accept_asks(client, db, accept, kind):
    """D3: every /api/v1 route speaks its own formats whatever ``Accept`` asks
    for (the API answers JSON; ``envelope.py``'s negotiation tests). The schema
    route answered an ``Accept`` it has no renderer for with 400
    ``invalid_request`` "The request is malformed or a required field is
    missing" (DRF's 406, mapped): now it serves its default document."""
    response = client.get("/api/v1/schema", HTTP_ACCEPT=accept)

    assert response.status_code == 200
    if kind == "json":
        assert response.json()["openapi"].startswith("3.")
    else:
        assert response.content.startswith(b"openapi: 3.")
