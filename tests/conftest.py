"""Fixtures every test can use: two partners (alice and bob), keys, API clients.

Isolation is proven against a second partner and the other mode everywhere
(D10), as healthchecks does with its alice/bob/charlie personas.
"""

from __future__ import annotations

import os

import pytest
import time_machine
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient

from tests.factories import MerchantFactory, PartnerFactory, make_key


def pytest_collection_modifyitems(config, items):
    """Under pytest-xdist (``make test``), modules with live drills first, then
    those driving a browser, then the rest, each module whole and in its own
    order: ``--dist loadfile`` hands modules out in this order, and the
    slowest ones (tens of seconds each) last left one worker running them
    alone for minutes at the end. Every worker sorts alike, as xdist needs."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        return
    rank: dict = {}
    for item in items:
        weight = (
            0
            if item.get_closest_marker("live")
            else (1 if item.get_closest_marker("browser") else 2)
        )
        rank[item.path] = min(rank.get(item.path, 2), weight)
    items.sort(key=lambda item: rank[item.path])


@pytest.fixture(autouse=True)
def _clear_cache():
    """Rate-limit counters live in Redis; every test starts with empty windows."""
    cache.clear()
    return


@pytest.fixture
def frozen_clock():
    """Fixed rate-limit windows (D27): a test that fills a window with 60 calls
    must not straddle its end, where a fresh counter would let the 61st in
    (a flake on a slow run). In-process only: a live server keeps its clock."""
    with time_machine.travel(timezone.now(), tick=False):
        yield


@pytest.fixture
def partner(db):
    return PartnerFactory(slug="alice-pay", name="Alice Pay")


@pytest.fixture
def other_partner(db):
    return PartnerFactory(slug="bob-pay", name="Bob Pay")


class KeyClient(APIClient):
    """An APIClient that sends one bearer key and remembers it."""

    def __init__(self, key: str, **kwargs):
        super().__init__(**kwargs)
        self.key = key
        self.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")


@pytest.fixture
def client_for(db):
    """``client_for(partner, test_mode=False, scopes=None)`` → a keyed APIClient."""

    def make(partner, *, test_mode: bool = False, scopes=None) -> KeyClient:
        return KeyClient(make_key(partner, test_mode=test_mode, scopes=scopes))

    return make


@pytest.fixture
def api(client_for, partner):
    """Alice's unrestricted live key."""
    return client_for(partner)


@pytest.fixture
def api_test(client_for, partner):
    """Alice's unrestricted test key."""
    return client_for(partner, test_mode=True)


@pytest.fixture
def merchant(partner):
    return MerchantFactory(partner=partner, test_mode=False)


@pytest.fixture
def test_merchant(partner):
    return MerchantFactory(partner=partner, test_mode=True)


@pytest.fixture
def counters_down(settings):
    """The rate-limit counters' Redis unreachable: the cache points at a loopback
    port nothing listens on (a real refused connection, not a mock)."""
    from jopay_project import ratelimits
    from tests.live import free_port

    settings.CACHES = {
        "default": {
            **settings.CACHES["default"],
            "LOCATION": f"redis://127.0.0.1:{free_port()}/0",
        }
    }
    ratelimits._last_outage_log = 0.0  # the outage is logged again in this test
    return settings.CACHES["default"]["LOCATION"]


@pytest.fixture(autouse=True)
def _live_server_idle_before_flush(request):
    """A test using the live server ends only once its requests have: the
    flush of a transactional test, which runs after this teardown, deadlocked
    with a request a closing page had just sent (tests/live_server_idle.py)."""
    if "live_server" not in request.fixturenames:
        yield
        return
    from tests.live_server_idle import counting

    app = counting(request.getfixturevalue("live_server"))
    yield
    app.wait_idle()


@pytest.fixture(autouse=True)
def _broker_known_up():
    """Each test starts with publishing on: a test that made a publish fail
    (a broker outage drill) must not silence the next test's publishes."""
    from jopay_project import tasks

    tasks._broker_down_until = 0.0
    yield
    tasks._broker_down_until = 0.0


def _point_celery_at(url: str) -> None:
    from kombu import pools as kombu_pools

    from jopay_project.celery import app as celery_app

    # What Celery itself does after a fork: drop the cached pools.
    kombu_pools.reset()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    celery_app.conf.broker_url = url


@pytest.fixture
def cut_broker():
    """``cut_broker()``: this process's publishes from then on meet a refused
    connection (the broker's Redis stopped; a real socket, not a mock)."""
    from jopay_project.celery import app as celery_app
    from tests.live import free_port

    old = celery_app.conf.broker_url
    yield lambda: _point_celery_at(f"redis://127.0.0.1:{free_port()}/0")
    _point_celery_at(old)
