"""Two rate writes adding the same currency at once: both succeed, one row.

Row locks cannot guard a row that does not exist yet: two refreshes (or a
refresh and ``set_fx_rate``) on a currency without a row both INSERTed, and
the loser's unique-index error crashed its refresh, breaking ``fx_refresh``'s
"never raises" and the refresh task's "safe to run twice". An advisory lock now
serialises rate writes.
"""

from __future__ import annotations

import json
import threading
from decimal import Decimal

import pytest
from django.db import connection

from payments.models import FxRate
from payments.services.fx import fx_rate_set_manual
from payments.services.refresh import fx_refresh

CURRENCIES = ["EUR", "GBP", "JPY", "CHF", "AUD", "CAD", "SEK", "NOK", "DKK", "PLN"]


def _race(*calls) -> list[BaseException]:
    barrier = threading.Barrier(len(calls))
    raised: list[BaseException] = []

    def run(call) -> None:
        try:
            barrier.wait()
            call()
        except BaseException as exc:  # reported by the test
            raised.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return raised


@pytest.mark.django_db(transaction=True)
def test_two_refreshes_adding_the_same_currencies_both_succeed(feed_server):
    body = json.dumps({"base": "USD", "rates": dict.fromkeys(CURRENCIES, "1.5")})
    url = feed_server.serve("/rates.json", body=body.encode())
    for _ in range(5):  # the race was lost in 10 of 10 rounds before the lock
        FxRate.objects.all().delete()
        results: list = []

        def refresh(into: list = results) -> None:
            into.append(fx_refresh(feed_urls=[url]))

        assert _race(refresh, refresh) == []
        assert len(results) == 2
        assert all(r.ok for r in results)
        stored = FxRate.objects.filter(partner__isnull=True, currency__in=CURRENCIES)
        assert sorted(stored.values_list("currency", flat=True)) == sorted(CURRENCIES)


@pytest.mark.django_db(transaction=True)
def test_a_refresh_and_a_manual_pin_of_a_new_currency_both_succeed(feed_server):
    body = json.dumps({"base": "USD", "rates": dict.fromkeys(CURRENCIES, "1.5")})
    url = feed_server.serve("/rates.json", body=body.encode())
    for _ in range(5):
        FxRate.objects.all().delete()
        raised = _race(
            lambda: fx_refresh(feed_urls=[url]),
            lambda: fx_rate_set_manual(currency="EUR", rate=Decimal("0.9")),
        )
        assert raised == []
        eur = FxRate.objects.get(partner__isnull=True, currency="EUR")
        # Whichever ran first, the pin survives: a refresh never overwrites it.
        assert (eur.rate, eur.pinned) == (Decimal("0.9"), True)


@pytest.mark.django_db(transaction=True)
def test_a_refresh_fetched_earlier_does_not_overwrite_a_later_ones_rates(
    feed_server, monkeypatch
):
    """Two refreshes overlap (the beat and an operator's): the first fetches,
    the second fetches and stores, then the first gets the lock. Its rates
    are the older ones; they stayed stamped "now" over the newer ones."""
    from payments.services import refresh as fx

    older = feed_server.serve(
        "/older.json",
        body=json.dumps({"base": "USD", "rates": {"EUR": "0.90"}}).encode(),
    )
    newer = feed_server.serve(
        "/newer.json",
        body=json.dumps({"base": "USD", "rates": {"EUR": "0.95"}}).encode(),
    )
    fetched, stored = threading.Event(), threading.Event()
    real_store = fx._store

    def store_after_the_newer(fetched_rates, result, **kw):
        if fetched_rates.rates["EUR"] == Decimal("0.9"):
            fetched.set()
            assert stored.wait(30)
        return real_store(fetched_rates, result, **kw)

    monkeypatch.setattr(fx, "_store", store_after_the_newer)
    results: list = []

    def refresh_older() -> None:
        try:
            results.append(fx_refresh(feed_urls=[older]))
        finally:
            connection.close()

    first = threading.Thread(target=refresh_older)
    first.start()
    assert fetched.wait(30)
    second = fx_refresh(feed_urls=[newer])
    stored.set()
    first.join(30)

    eur = FxRate.objects.get(partner__isnull=True, currency="EUR")
    assert eur.rate == Decimal("0.95")  # the later fetch's rate stays
    assert "EUR" in second.changed
    assert "EUR" in results[0].skipped_newer
    assert "EUR" not in results[0].changed
