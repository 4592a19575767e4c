"""Races over real HTTP (live_server, committed rows): D17 idempotent create and the
single-use onboarding link. Ten threads start together behind a barrier."""

from __future__ import annotations

import re

import pytest
import requests

from merchants.models import Merchant
from tests.factories import WALLET, make_key
from tests.merchants.conftest import new_key
from tests.races import THREADS, api_poster, assert_one_created, at_once

pytestmark = pytest.mark.django_db(transaction=True)


def _poster(base, key, body):
    return api_poster(f"{base}/api/v1/merchants", key, body)


def test_concurrent_creates_with_one_key_make_exactly_one_merchant(
    live_server, partner
):
    key = make_key(partner)
    body = {"display_name": "Racer", "country": "DE", "idempotency_key": new_key()}
    results = at_once([_poster(live_server.url, key, body) for _ in range(THREADS)])
    assert_one_created(results, "merchant_id")
    assert Merchant.objects.count() == 1


def test_concurrent_creates_with_one_key_and_two_bodies_conflict_cleanly(
    live_server, partner
):
    key = make_key(partner)
    idem = new_key()
    bodies = [
        {"display_name": "A" if i % 2 else "B", "idempotency_key": idem}
        for i in range(THREADS)
    ]
    results = at_once([_poster(live_server.url, key, b) for b in bodies])
    assert all(status in (200, 201, 409) for status, _, _ in results), results
    assert sum(status == 201 for status, _, _ in results) == 1
    winner = Merchant.objects.get()
    for body, (status, _, payload) in zip(bodies, results, strict=True):
        if body["display_name"] == winner.display_name:
            assert status in (200, 201)
            assert payload["merchant_id"] == str(winner.pk)
        else:
            assert (status, payload["error"]) == (409, "idempotency_conflict")


def test_double_submit_of_the_onboarding_form_applies_once(live_server, partner):
    key = make_key(partner)
    created = requests.post(
        f"{live_server.url}/api/v1/merchants",
        json={},
        timeout=30,
        headers={"Authorization": f"Bearer {key}"},
    ).json()
    page_url = live_server.url + created["onboarding_url"].removeprefix(
        "http://testserver"
    )
    page = requests.get(page_url, timeout=30)
    assert page.status_code == 200
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    cookies = {"csrftoken": page.cookies["csrftoken"]}
    wallets = [WALLET, WALLET.lower()] * (THREADS // 2)

    def submit(wallet):
        return lambda: (
            requests.post(
                page_url,
                timeout=30,
                cookies=cookies,
                data={
                    "wallet_address": wallet,
                    "accept_terms": "on",
                    "csrfmiddlewaretoken": csrf,
                },
            ).status_code
        )

    statuses = at_once([submit(w) for w in wallets])
    assert sorted(statuses) == [200] + [404] * (THREADS - 1), statuses
    merchant = Merchant.objects.get()
    assert merchant.onboarding_status == Merchant.OnboardingStatus.COMPLETE
    assert merchant.wallet_address == wallets[statuses.index(200)]
