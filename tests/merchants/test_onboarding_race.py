"""D28/D35 under concurrency: an onboarding link is single use even when two
tabs submit it at the same moment.

The second submission waits on the merchant row lock held by the first, then
finds the link spent: one wallet is stored, the other tab gets the 404 page.
(Real threads and committed rows: the test client alone runs one at a time.)
"""

from __future__ import annotations

import threading
import time
from collections import Counter

import pytest
from django.db import connection
from django.test import Client

from merchants import onboarding_complete
from merchants.models import Merchant
from tests.merchants.conftest import URL

WALLETS = ("0x" + "11" * 20, "0x" + "22" * 20)


@pytest.mark.django_db(transaction=True)
def test_two_tabs_submitting_at_once_complete_onboarding_once(api, monkeypatch):
    body = api.post(URL, {"business_name": "Mia's Bakery"}, format="json").json()
    path = body["onboarding_url"].removeprefix("http://testserver")
    real = onboarding_complete.receiving_address_validate
    calls: list = []

    def slow(**kwargs):  # holds the row lock while the other tab arrives
        calls.append(kwargs)
        time.sleep(0.5)
        return real(**kwargs)

    # Where the page's completion looks it up (merchants.services' own copy,
    # patched before, is the API's: the lock was never held for long).
    monkeypatch.setattr(onboarding_complete, "receiving_address_validate", slow)
    statuses: Counter = Counter()
    lock = threading.Lock()
    start = threading.Barrier(len(WALLETS))

    def submit(i: int, wallet: str) -> None:
        try:
            client = Client(REMOTE_ADDR=f"198.51.100.{i + 1}")
            assert client.get(path).status_code == 200  # both tabs have the form
            start.wait()
            response = client.post(
                path, {"wallet_address": wallet, "accept_terms": "on"}
            )
            with lock:
                statuses[response.status_code] += 1
        finally:
            connection.close()

    threads = [
        threading.Thread(target=submit, args=(i, w)) for i, w in enumerate(WALLETS)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert statuses == Counter({302: 1, 404: 1})
    assert len(calls) == 1  # the second waited, then found the link spent
    merchant = Merchant.objects.get(pk=body["merchant_id"])
    assert merchant.onboarding_status == Merchant.OnboardingStatus.COMPLETE
    assert merchant.wallet_address in WALLETS
    assert merchant.onboarding_token_hash == ""
    assert Client().get(path).status_code == 404  # spent for everyone


@pytest.mark.django_db(transaction=True)
def test_a_double_click_shows_the_done_page_not_a_dead_link(api, monkeypatch):
    # One browser, two submissions of the form at once (a double click): the
    # browser shows the answer to the second, which waited for the first and
    # then said "This onboarding link is not valid" although setup had worked.
    body = api.post(URL, {"business_name": "Mia's Bakery"}, format="json").json()
    path = body["onboarding_url"].removeprefix("http://testserver")
    real = onboarding_complete.receiving_address_validate

    def slow(**kwargs):  # holds the row lock while the second click arrives
        time.sleep(0.5)
        return real(**kwargs)

    monkeypatch.setattr(onboarding_complete, "receiving_address_validate", slow)
    browser = Client()
    assert browser.get(path).status_code == 200
    answers: list = []
    start = threading.Barrier(2)

    def click() -> None:
        try:
            tab = Client()
            tab.cookies = browser.cookies  # the same browser: the same cookies
            start.wait()
            answers.append(
                tab.post(path, {"wallet_address": WALLETS[0], "accept_terms": "on"})
            )
        finally:
            connection.close()

    threads = [threading.Thread(target=click) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert (
        sorted((r.status_code, r.get("Location")) for r in answers)
        == [(302, "/onboard/done/")] * 2
    )
    assert "all set" in browser.get("/onboard/done/").content.decode()
