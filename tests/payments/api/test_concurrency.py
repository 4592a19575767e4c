"""Concurrent creates over real HTTP (pytest-django ``live_server`` + ``requests``):
D17 one row per idempotency key under racing retries, D15 distinct amounts under
racing creates for one wallet."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from payments.models import PaymentRequest
from tests.factories import MerchantFactory, make_key

pytestmark = pytest.mark.usefixtures("rates")

THREADS = 20


def fire(live_server, key: str, bodies: list[dict]) -> list[requests.Response]:
    url = f"{live_server.url}/api/v1/requests/create"
    headers = {"Authorization": f"Bearer {key}"}

    def post(body):
        with requests.Session() as session:
            return session.post(url, json=body, headers=headers, timeout=30)

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(post, bodies))


def test_twenty_concurrent_creates_with_one_key_make_one_request(
    live_server, partner, merchant
):
    key = make_key(partner)
    body = {
        "merchant_id": str(merchant.pk),
        "fiat_amount_int": 2500,
        "idempotency_key": hashlib.sha256(b"checkout:race").hexdigest(),
    }

    answers = fire(live_server, key, [body] * THREADS)

    codes = sorted(a.status_code for a in answers)
    assert all(c < 500 for c in codes), [
        a.text for a in answers if a.status_code >= 500
    ]
    assert codes.count(201) == 1
    assert codes.count(200) == THREADS - 1
    assert {a.json()["request_id"] for a in answers} == {
        str(PaymentRequest.objects.get().pk)
    }
    assert all(
        a.headers.get("Idempotent-Replayed") == "true"
        for a in answers
        if a.status_code == 200
    )
    assert PaymentRequest.objects.count() == 1


def test_concurrent_creates_for_one_wallet_get_distinct_amounts(
    live_server, partner, other_partner, merchant
):
    # Two partners' merchants share the wallet: both serialise on one address lock.
    bob_merchant = MerchantFactory(
        partner=other_partner, wallet_address=merchant.wallet_address
    )
    alice, bob = make_key(partner), make_key(other_partner)
    alice_bodies = [{"merchant_id": str(merchant.pk), "fiat_amount_int": 2500}] * 10
    bob_bodies = [{"merchant_id": str(bob_merchant.pk), "fiat_amount_int": 2500}] * 10

    with ThreadPoolExecutor(max_workers=2) as pool:
        a = pool.submit(fire, live_server, alice, alice_bodies)
        b = pool.submit(fire, live_server, bob, bob_bodies)
        answers = a.result() + b.result()

    assert [r.status_code for r in answers] == [201] * 20
    amounts = [int(r.json()["amount"]["usdc_micro"]) for r in answers]
    assert len(set(amounts)) == 20
    assert PaymentRequest.objects.values("usdc_micro").distinct().count() == 20
