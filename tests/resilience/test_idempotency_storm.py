"""D17 under a storm: 100 concurrent creates with one idempotency key, over real
HTTP on a multi-process gunicorn, make exactly one request and no 5xx.

The callers are released together by a barrier, so the duplicates really race
in several gunicorn workers (separate processes, separate database sessions).
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from payments.models import PaymentRequest
from tests.factories import MerchantFactory
from tests.live import gunicorn

pytestmark = pytest.mark.live

CALLERS = 100
KEY = "storm-" + "k" * 30  # 36 characters of base64url (D17)


def _storm(base: str, api_key: str, bodies: list[dict]) -> list[tuple[int, dict]]:
    barrier = threading.Barrier(len(bodies))

    def call(body: dict) -> tuple[int, dict]:
        with requests.Session() as session:
            barrier.wait(timeout=60)
            answer = session.post(
                f"{base}/api/v1/requests/create",
                json=body,
                headers={"Authorization": f"Bearer {api_key}"},
                timeout=120,
            )
            return answer.status_code, answer.json()

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(call, bodies))


def test_100_concurrent_creates_with_one_key_make_exactly_one_request(
    live_partner, live_merchant, live_key
):
    body = {
        "merchant_id": str(live_merchant.pk),
        "fiat_amount_int": 2500,
        "idempotency_key": KEY,
    }
    with gunicorn(workers=4) as base:
        answers = _storm(base, live_key, [body] * CALLERS)

    statuses = Counter(status for status, _ in answers)
    # D5: one 201 for the new request, 200 replays for every duplicate.
    assert statuses == {201: 1, 200: CALLERS - 1}, statuses
    assert {data["request_id"] for _, data in answers} == {
        str(PaymentRequest.objects.get(partner=live_partner).pk)
    }
    assert PaymentRequest.objects.filter(partner=live_partner).count() == 1
    # Every replay shows the same amount: the unique tag was chosen once (D15).
    assert len({data["amount"]["usdc_micro"] for _, data in answers}) == 1


def test_concurrent_same_key_different_bodies_make_one_request_and_409s(
    live_partner, live_merchant, live_key
):
    """Half the callers send another amount with the same key: each answer is the
    replay (same body as the winner) or ``idempotency_conflict``, never a 5xx."""
    other_merchant = MerchantFactory(partner=live_partner, test_mode=False)
    bodies = [
        {
            "merchant_id": str((live_merchant, other_merchant)[i % 2].pk),
            "fiat_amount_int": 2500 + i % 2,
            "idempotency_key": KEY,
        }
        for i in range(CALLERS)
    ]
    with gunicorn(workers=4) as base:
        answers = _storm(base, live_key, bodies)

    assert all(status < 500 for status, _ in answers), Counter(s for s, _ in answers)
    created = PaymentRequest.objects.get(partner=live_partner)
    winners = [
        (status, data)
        for (status, data), body in zip(answers, bodies, strict=True)
        if body["fiat_amount_int"] == created.fiat_int
    ]
    losers = [
        (status, data)
        for (status, data), body in zip(answers, bodies, strict=True)
        if body["fiat_amount_int"] != created.fiat_int
    ]
    assert sorted(status for status, _ in winners) == [200] * 49 + [201]
    assert {data["request_id"] for _, data in winners} == {str(created.pk)}
    assert {(status, data["error"]) for status, data in losers} == {
        (409, "idempotency_conflict")
    }
