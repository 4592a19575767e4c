"""D17 for plans over real HTTP: concurrent creates with one key make one plan.

"Merchant and plan creation take idempotency_key too, with the same rules",
"even under concurrent retries": one 201, every duplicate the 200 replay with
``Idempotent-Replayed``, no 5xx; one key with two bodies → one plan and 409s.
Ten callers start together behind a barrier (live_server, committed rows).
"""

from __future__ import annotations

import secrets

import pytest

from recurring.models import Plan
from tests.factories import make_key
from tests.races import THREADS, api_poster, assert_one_created, at_once
from tests.recurring.conftest import CUSTOMER

pytestmark = pytest.mark.django_db(transaction=True)
PLANS = "/api/v1/recurring/plans"


def _poster(base, key, body):
    return api_poster(base + PLANS, key, body)


def test_concurrent_plan_creates_with_one_key_make_exactly_one_plan(
    live_server, partner, merchant
):
    key = make_key(partner)
    body = {
        "merchant_id": str(merchant.pk),
        "fiat_amount_int": 2500,
        "frequency": "monthly",
        "customer_wallet": CUSTOMER,
        "idempotency_key": secrets.token_hex(32),
    }
    results = at_once([_poster(live_server.url, key, body) for _ in range(THREADS)])
    assert_one_created(results, "plan_id")
    assert Plan.objects.count() == 1


def test_concurrent_plan_creates_with_one_key_and_two_bodies_conflict_cleanly(
    live_server, partner, merchant
):
    key = make_key(partner)
    idem = secrets.token_hex(32)
    bodies = [
        {
            "merchant_id": str(merchant.pk),
            "fiat_amount_int": 2500 + i % 2,
            "frequency": "weekly",
            "customer_wallet": CUSTOMER,
            "idempotency_key": idem,
        }
        for i in range(THREADS)
    ]
    results = at_once([_poster(live_server.url, key, b) for b in bodies])
    assert all(status in (200, 201, 409) for status, _, _ in results), results
    assert sum(status == 201 for status, _, _ in results) == 1
    winner = Plan.objects.get()
    for body, (status, _, payload) in zip(bodies, results, strict=True):
        if body["fiat_amount_int"] == winner.fiat_amount_int:
            assert (status, payload["plan_id"]) in (
                (200, str(winner.pk)),
                (201, str(winner.pk)),
            )
        else:
            assert (status, payload["error"]) == (409, "idempotency_conflict")
