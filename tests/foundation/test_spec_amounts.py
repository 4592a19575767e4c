"""Money facts of the contract, over HTTP (spec §1.4, §4.6; D14, D17).

§4.6: the USDC amount is fixed at creation ("the FX rate locked at
creation: the USDC amount does not change while the page is open"); a rate
that moves afterwards changes no answer about the request, a replay
included. §1.4: ``fiat_int`` is a JSON integer, ``usdc_micro`` a string of
digits, in every answer that carries an amount.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.utils import timezone

from payments.models import FxRate
from tests.payments.conftest import rates  # noqa: F401  (a fixture)

pytestmark = pytest.mark.usefixtures("rates")

KEY = "f" * 64  # §4.1.3: a hex SHA-256 is a valid key


def _amounts(api, body, request_id) -> list[dict]:
    """The amount in every API answer about the request."""
    path = f"/api/v1/requests/{request_id}"
    listed = api.get("/api/v1/requests").json()["data"]
    replay = api.post("/api/v1/requests/create", body, format="json")
    assert replay.status_code == 200  # D5: the replay, not a new request
    return [
        api.get(path).json()["amount"],
        next(item["amount"] for item in listed if item["request_id"] == request_id),
        replay.json()["amount"],
        api.post(f"{path}/cancel").json()["amount"],
    ]


def test_the_usdc_amount_is_locked_at_creation(api, merchant, client):
    body = {
        "merchant_id": str(merchant.pk),
        "fiat_amount_int": 2500,
        "idempotency_key": KEY,
    }
    created = api.post("/api/v1/requests/create", body, format="json").json()
    # A feed stores a new EUR rate: 0.92 → 0.5 EUR per USDC (a new request
    # for the same amount would ask for 50 USDC, not ~27).
    FxRate.objects.filter(currency="EUR").update(
        rate=Decimal("0.5"), fetched_at=timezone.now()
    )
    page = client.get(f"/pay/{created['request_id']}")

    amounts = _amounts(api, body, created["request_id"])

    assert amounts == [created["amount"]] * 4
    usdc = int(created["amount"]["usdc_micro"])
    assert 27_173_000 <= usdc < 27_174_000  # D14/D15 at 0.92, not at 0.5
    shown = f"{usdc // 10**6}.{usdc % 10**6:06d}"
    assert shown in page.content.decode()


def test_money_types_on_the_wire(api, merchant):
    created = api.post(
        "/api/v1/requests/create",
        {"merchant_id": str(merchant.pk), "fiat_amount_int": 2147483647},
        format="json",
    ).json()

    amount = created["amount"]
    assert type(amount["fiat_int"]) is int
    assert amount["fiat_int"] == 2147483647  # §1.4: the int32 bound is accepted
    assert isinstance(amount["usdc_micro"], str)
    assert re.fullmatch(r"[1-9][0-9]*", amount["usdc_micro"])
    assert amount["fiat_code"] == "EUR"
