"""Load-balancer probes: answered over plain HTTP, for any Host, without secrets."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client

from tests.live import free_port

pytestmark = pytest.mark.django_db


@pytest.fixture
def production_like(settings):
    # What a probe meets in production: the HTTPS redirect and a strict host list.
    settings.SECURE_SSL_REDIRECT = True
    settings.ALLOWED_HOSTS = ["pay.example"]


def test_healthz_answers_any_host_over_plain_http(production_like):
    response = Client().get("/healthz", HTTP_HOST="10.0.3.7:8000")
    assert response.status_code == 200
    assert response.json() == {"ok": True}
    assert response["Cache-Control"] == "no-store"


def test_readyz_checks_the_database_and_the_cache(production_like):
    response = Client().get("/readyz", HTTP_HOST="10.0.3.7")
    assert response.status_code == 200
    assert response.json() == {
        "ok": True,
        "checks": {"database": "ok", "cache": "ok"},
    }


def test_readyz_names_a_cache_outage_but_stays_ready(counters_down):
    # A real refused connection to the cache's Redis (tests/conftest.py). The
    # API keeps answering without it (uncounted), so the node stays in the
    # load balancer: a 503 here had taken every web node out at once.
    response = Client().get("/readyz")
    assert response.status_code == 200
    assert response.json() == {
        "ok": False,
        "checks": {"database": "ok", "cache": "down"},
    }
    assert b"127.0.0.1" not in response.content


@pytest.mark.django_db(transaction=True)
def test_readyz_is_503_when_the_database_does_not_answer(monkeypatch):
    connection.close()
    monkeypatch.setitem(connection.settings_dict, "HOST", "127.0.0.1")
    monkeypatch.setitem(connection.settings_dict, "PORT", str(free_port()))
    try:
        response = Client().get("/readyz")
    finally:
        connection.close()
    assert response.status_code == 503
    assert response.json() == {
        "ok": False,
        "checks": {"database": "down", "cache": "ok"},
    }
    assert b"127.0.0.1" not in response.content


def test_other_methods_and_paths_are_not_probes():
    assert Client().post("/healthz").status_code != 200
    assert Client().get("/healthz/extra").status_code == 404


def test_a_failing_readyz_logs_one_line_per_check(counters_down, caplog):
    # A load balancer probes every few seconds: each 503 wrote redis-py's
    # chained traceback (about 70 lines) under "readyz: cache down".
    for _ in range(2):
        Client().get("/readyz")
    health = [r for r in caplog.records if r.name == "jopay.health"]
    assert len(health) == 2
    for record in health:
        assert record.exc_info is None
        message = record.getMessage()
        assert message.startswith("readyz: cache down (ConnectionError: ")
        assert "\n" not in message
