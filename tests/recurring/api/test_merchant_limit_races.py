"""Spec §10.3 with D17 under concurrency: retries of one create racing the
original are replays, and a replay is no operation on the merchant's plans.

Sequential retries were answered before the merchant's budget was counted;
concurrent ones (the original not yet committed) were counted, so each used
up an operation, and one over the budget answered ``rate_limited`` instead of
the plan. Real threads and committed rows: the original is held right after
its INSERT until the retries wait on its idempotency key.
"""

from __future__ import annotations

import threading

import pytest

from recurring.models import Plan
from tests.conftest import KeyClient
from tests.factories import make_key
from tests.locks import db_thread, wait_until_blocked
from tests.recurring.api.test_create import URL, body

pytestmark = pytest.mark.django_db(transaction=True)

RETRIES = ("retry-1", "retry-2")


def test_retries_racing_the_original_create_replay_and_cost_nothing(
    partner, merchant, eur_rate, monkeypatch
):
    partner.rate_limit_overrides = {"plans.merchant": "2/h"}
    partner.save()
    key = make_key(partner)
    data = body(merchant, idempotency_key="race-" + "k" * 35)
    held, release = threading.Event(), threading.Event()
    real_save = Plan.save

    def save(self, *args, **kwargs):
        real_save(self, *args, **kwargs)
        if threading.current_thread().name == "original" and not held.is_set():
            held.set()
            assert release.wait(20)

    monkeypatch.setattr(Plan, "save", save)
    results: dict[str, object] = {}
    pids: dict[str, int] = {}

    def create():
        answer = KeyClient(key).post(URL, data, format="json")
        return answer.status_code, answer.json().get("plan_id") or answer.json()

    original = db_thread("original", create, results, pids)
    original.start()
    try:
        assert held.wait(10), results
        retries = [db_thread(name, create, results, pids) for name in RETRIES]
        for retry in retries:
            retry.start()
            wait_until_blocked(retry, pids, retry.name)
    finally:
        release.set()
    for thread in (original, *retries):
        thread.join(20)

    plan = Plan.objects.get()
    assert results["original"] == (201, str(plan.pk))
    assert [results[name] for name in RETRIES] == [(200, str(plan.pk))] * 2
    # One operation used of the two: the merchant can still pause the plan.
    paused = KeyClient(key).post(f"{URL}/{plan.pk}/pause")
    assert paused.status_code == 200, paused.json()


def test_over_the_budget_a_new_key_is_refused_and_writes_nothing(
    partner, merchant, eur_rate
):
    partner.rate_limit_overrides = {"plans.merchant": "1/h"}
    partner.save()
    api = KeyClient(make_key(partner))
    first = api.post(URL, body(merchant, idempotency_key="a" * 40), format="json")
    assert first.status_code == 201
    refused = api.post(URL, body(merchant, idempotency_key="b" * 40), format="json")
    assert refused.status_code == 429
    assert refused.json()["error"] == "rate_limited"
    assert refused["X-RateLimit-Limit"] == "1"  # the merchant's window
    assert refused["X-RateLimit-Reset"] == refused["Retry-After"]
    assert Plan.objects.count() == 1
    again = api.post(URL, body(merchant, idempotency_key="a" * 40), format="json")
    assert (again.status_code, again["X-RateLimit-Limit"]) == (200, "60")
