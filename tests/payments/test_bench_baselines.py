"""The create benchmark's two baselines still run against the current code.

``/bench/floor`` reuses the API's own statements (bench/baseline/floor.py): a
change to one of them must not silently turn the benchmark's floor into 500s.
"""

from __future__ import annotations

import uuid

import pytest
from django.db import connection

from bench.api_create import FLOOR_FX_SOURCE
from bench.baseline.views import TABLE, ensure_table
from payments.models import PaymentRequest

pytestmark = [pytest.mark.urls("bench.baseline.urls"), pytest.mark.usefixtures("rates")]


def _body(merchant, amount: int = 2500) -> dict:
    return {
        "merchant_id": str(merchant.pk),
        "fiat_amount_int": amount,
        "idempotency_key": uuid.uuid4().hex,
        "memo": "bench",
        "metadata": {"order": "1"},
    }


def test_floor_writes_one_full_request_row_and_answers_the_api_shape(
    api, merchant, partner
):
    first = api.post("/bench/floor", _body(merchant), format="json")
    second = api.post("/bench/floor", _body(merchant), format="json")
    created = api.post("/api/v1/requests/create", _body(merchant), format="json")

    assert first.status_code == second.status_code == created.status_code == 201
    assert first.json().keys() == created.json().keys()
    rows = PaymentRequest.objects.filter(partner=partner, fx_source=FLOOR_FX_SOURCE)
    assert rows.count() == 2
    amounts = {row.usdc_micro for row in rows}
    assert len(amounts) == 2  # D15 tags under the same lock + INSERT as the API
    assert {row.receiving_address for row in rows} == {merchant.wallet_address}


def test_insert_baseline_writes_one_row(client):
    ensure_table()
    response = client.post(
        "/bench/insert",
        {"merchant_id": str(uuid.uuid4()), "fiat_amount_int": 5},
        content_type="application/json",
    )
    assert response.status_code == 201
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {TABLE}")  # noqa: S608 (a constant)
        assert cursor.fetchone()[0] == 1
