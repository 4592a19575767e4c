"""D27/D30: without Redis, rate-limit counters in Django's database cache hold.

``DatabaseCache.incr`` reads the counter, then writes it back: callers
counting at once both wrote n + 1, so 120 parallel calls of one key all got
through a limit of 60 (150 parallel calls under two gunicorn workers on the
embedded SQLite stack let 65 through). The read-modify-write is now
serialised (an advisory lock on PostgreSQL, IMMEDIATE transactions on SQLite).
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
import time_machine
from django.core.cache import caches
from django.core.management import call_command
from django.db import connections
from django.test import RequestFactory

from jopay_project import ratelimits

TABLE = "jopay_cache_test_counters"
CALLERS, CALLS_EACH = 20, 6  # 120 calls of one key, limit 60 a minute


@pytest.fixture
def database_cache(settings, frozen_clock):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": TABLE,
        }
    }
    call_command("createcachetable", TABLE)
    caches["default"].clear()
    assert ratelimits._redis_client() is None  # the database path is under test
    yield
    caches["default"].clear()


@pytest.mark.django_db(transaction=True)
def test_parallel_calls_of_one_key_are_all_counted(database_cache):
    request = RequestFactory().get("/")
    allowed: list[int] = []
    barrier = threading.Barrier(CALLERS)

    def caller() -> None:
        try:
            barrier.wait()
            for _ in range(CALLS_EACH):
                if not ratelimits.hit(request, "requests.list", "key:race").exceeded:
                    allowed.append(1)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=caller) for _ in range(CALLERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(allowed) == 60
    peek = ratelimits.hit(request, "requests.list", "key:race", increment=False)
    assert peek.remaining == 0


@pytest.mark.django_db(transaction=True)
def test_take_back_uncounts_exactly_one_call(database_cache):
    request = RequestFactory().get("/")
    usages = [ratelimits.hit(request, "requests.list", "key:tb") for _ in range(3)]
    ratelimits.take_back(usages[-1])
    peek = ratelimits.hit(request, "requests.list", "key:tb", increment=False)
    assert peek.remaining == 60 - 2


@pytest.mark.django_db(transaction=True)
def test_the_window_is_free_once_its_reset_has_passed(database_cache):
    """The database path tells the same ``Reset`` as Redis: one that counted to
    django-ratelimit's window (its last second) left a caller a second short."""
    request = RequestFactory().get("/")

    def hit() -> ratelimits.Usage:
        return ratelimits.hit(request, "requests.list", "key:reset", rate="1/m")

    mid_second = datetime(2026, 12, 7, 12, 0, 0, 700_000, tzinfo=UTC)
    with time_machine.travel(mid_second, tick=False) as clock:
        hit()
        refused = hit()
        assert refused.exceeded
        clock.shift(refused.reset - 1)
        assert hit().exceeded
        clock.shift(1)
        assert not hit().exceeded
