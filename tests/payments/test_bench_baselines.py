"""The create benchmark's two baselines still run against the current code.

``/bench/floor`` reuses the API's own statements (bench/baseline/floor.py): a
change to one of them must not silently turn the benchmark's floor into 500s.
"""

from __future__ import annotations

import uuid

import pytest
from django.db import connection

from bench.api_create import FLOOR_FX_SOURCE, WHAT_IF
from bench.baseline.views import TABLE, ensure_table
from bench.common import delete_in_batches
from payments.models import PaymentRequest
from tests.factories import MerchantFactory

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


@pytest.mark.parametrize("without", sorted(WHAT_IF.values()))
def test_floor_what_if_variants_still_write_a_row(api, merchant, partner, without):
    # Twice: the second call of a cached variant (key, context) takes the cache.
    for _ in range(2):
        answer = api.post(f"/bench/floor?without={without}", _body(merchant), "json")
        assert answer.status_code == 201
    rows = PaymentRequest.objects.filter(partner=partner, fx_source=FLOOR_FX_SOURCE)
    assert rows.count() == 2


def test_floor_refuses_an_unknown_step(api, merchant):
    answer = api.post("/bench/floor?without=key,fsync", _body(merchant), "json")
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_request"


def test_delete_in_batches_deletes_every_row_of_the_queryset_and_no_other(
    api, merchant, partner
):
    for _ in range(5):
        assert api.post("/bench/floor", _body(merchant), "json").status_code == 201
    other = MerchantFactory()  # another partner's merchant keeps its rows
    PaymentRequest.objects.filter(pk=PaymentRequest.objects.first().pk).update(
        partner=other.partner, merchant=other
    )

    delete_in_batches(PaymentRequest.objects.filter(partner=partner), size=2)

    assert not PaymentRequest.objects.filter(partner=partner).exists()
    assert PaymentRequest.objects.filter(partner=other.partner).count() == 1
