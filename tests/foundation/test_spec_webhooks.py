"""A webhook as a receiver sees it, checked against spec §6 and D23/D25 alone.

Everything goes through the public API (the URL is set with ``PUT
/api/v1/webhooks/endpoint``, whose answer hands out the secret; the request
is created and cancelled over HTTP) and a real TLS receiver; the signatures
are recomputed here from the spec's wording, not with JoPay's signing code.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
import uuid

import pytest

from tests.payments.conftest import rates  # noqa: F401  (fixtures)
from tests.webhooks.conftest import (  # noqa: F401  (fixtures)
    _receiver_ca,
    _receiver_server,
    receiver,
)
from webhooks.delivery import deliver
from webhooks.models import WebhookEvent

TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")  # D1
# spec §6.4, every field of the documented payload.
SPEC_FIELDS = {
    "event",
    "delivery_id",
    "partner_id",
    "request_id",
    "merchant_id",
    "proof_status",
    "proof_source",
    "tx_hash",
    "payer_address",
    "timestamp",
}
# D23: what JoPay adds to it.
D23_FIELDS = {"metadata", "test_mode", "amount", "chain_id", "mismatch_reason"}


def _lower_uuid(value: str) -> bool:
    return str(uuid.UUID(value)) == value  # D1: lower case


@pytest.fixture
def hook(api, request):
    """The webhook tests' TLS receiver, set as the URL over the API; and the
    secret that answer handed out."""
    inbox = request.getfixturevalue("receiver")
    answer = api.put(
        "/api/v1/webhooks/endpoint",
        {"url": inbox.url("/spec"), "enabled": True},
        format="json",
    )
    assert answer.status_code == 200, answer.json()
    secret = answer.json()["secret"]
    assert re.fullmatch(r"[0-9a-f]{64}", secret)  # §6.1: 256 bits as 64 hex
    return inbox, secret


@pytest.mark.usefixtures("rates")
def test_a_cancelled_request_reaches_the_receiver_as_the_spec_says(
    api, partner, merchant, hook
):
    inbox, secret = hook
    created = api.post(
        "/api/v1/requests/create",
        {
            "merchant_id": str(merchant.pk),
            "fiat_amount_int": 2500,
            "metadata": {"order_id": "Ä-1001"},
        },
        format="json",
    ).json()
    cancel = api.post(f"/api/v1/requests/{created['request_id']}/cancel")
    assert cancel.status_code == 200
    event = WebhookEvent.objects.get(
        request_id=created["request_id"], type="request.cancelled"
    )
    before = int(time.time())

    deliver(delivery_id=str(event.deliveries.get().pk))

    (got,) = inbox.received("/spec")
    assert got.headers["content-type"].startswith("application/json")  # §6.3
    # §6.5 / D25: "v1=<lower-case hex>,t=<unix seconds>", v1 first.
    match = re.fullmatch(r"v1=([0-9a-f]{64}),t=(\d+)", got.headers["x-jopay-signature"])
    assert match, got.headers["x-jopay-signature"]
    t = int(match[2])
    assert before - 1 <= t <= int(time.time()) + 1  # seconds, the send time
    signed = f"{t}.".encode() + got.body
    expected = hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(match[1], expected)
    # D25: Standard Webhooks, keyed with the 32 bytes the hex secret encodes.
    body = json.loads(got.body)
    assert got.headers["webhook-id"] == body["delivery_id"]
    assert got.headers["webhook-timestamp"] == str(t)
    standard = hmac.new(
        bytes.fromhex(secret),
        f"{body['delivery_id']}.{t}.".encode() + got.body,
        hashlib.sha256,
    ).digest()
    assert (
        got.headers["webhook-signature"] == "v1," + base64.b64encode(standard).decode()
    )
    assert got.headers["x-jopay-delivery-attempt"] == "1"  # D24
    # §6.4 + D23: the fields, their values and types.
    assert SPEC_FIELDS | D23_FIELDS | {"sequence"} <= set(body)
    assert body["event"] == "request.cancelled"
    assert all(
        _lower_uuid(body[name])
        for name in ("delivery_id", "partner_id", "request_id", "merchant_id")
    )
    assert body["partner_id"] == str(partner.pk)
    assert body["request_id"] == created["request_id"]
    assert body["merchant_id"] == str(merchant.pk)
    assert body["proof_status"] == "none"
    assert body["proof_source"] is body["tx_hash"] is body["payer_address"] is None
    assert body["metadata"] == {"order_id": "Ä-1001"}  # §6.4: round-trips
    assert body["amount"] == created["amount"]
    assert isinstance(body["amount"]["usdc_micro"], str)  # §1.4
    assert body["test_mode"] is False
    assert body["sequence"] == 1  # D23: the request's first event
    assert TIMESTAMP.fullmatch(body["timestamp"])


def test_the_test_event_is_signed_the_same_way(api, hook):
    inbox, secret = hook
    sent = api.post("/api/v1/webhooks/test")
    assert sent.status_code == 202

    deliver(delivery_id=sent.json()["delivery_id"])

    (got,) = inbox.received("/spec")
    match = re.fullmatch(r"v1=([0-9a-f]{64}),t=(\d+)", got.headers["x-jopay-signature"])
    signed = f"{match[2]}.".encode() + got.body
    expected = hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(match[1], expected)
    body = json.loads(got.body)
    assert body["event"] == "webhook.test"
    assert body["delivery_id"] == sent.json()["delivery_id"]
    assert body["sequence"] is None  # D23: not about a request
    assert TIMESTAMP.fullmatch(body["timestamp"])
