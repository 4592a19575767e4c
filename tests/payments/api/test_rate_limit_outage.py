"""The rate-limit counters' store unreachable (Redis restarting): the API and the
pay page stay up, uncounted and without rate-limit headers, and say so in the
log; the portal login fails closed (jopay_project/ratelimits.py)."""

from __future__ import annotations

import logging

import pytest

from jopay_project import ratelimits
from payments.models import PaymentRequest

pytestmark = pytest.mark.usefixtures("rates")

HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


def test_api_calls_are_served_uncounted_and_the_outage_is_logged(
    api, create, counters_down, caplog
):
    with caplog.at_level(logging.WARNING, logger="jopay.ratelimits"):
        created = create(api)
        listed = api.get("/api/v1/requests")
    assert created.status_code == 201, created.content
    assert listed.status_code == 200
    assert PaymentRequest.objects.filter(pk=created.json()["request_id"]).exists()
    for response in (created, listed):
        assert not any(name in response for name in HEADERS)
    # One line for the burst, not one per call.
    lines = [r for r in caplog.records if "counters unreachable" in r.getMessage()]
    assert len(lines) == 1
    assert "fails open" in lines[0].getMessage()


def test_the_limit_is_not_enforced_while_nothing_can_count(api, counters_down):
    for _ in range(61):
        assert api.get("/api/v1/merchants").status_code == 200


def test_errors_still_answer_with_their_own_code(api, create, counters_down):
    response = create(api, fiat_amount_int="12")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_amount"


def test_the_pay_page_stays_up(api, create, client, counters_down):
    request_id = create(api).json()["request_id"]
    assert client.get(f"/pay/{request_id}").status_code == 200
    assert client.get(f"/pay/{request_id}/status").status_code == 200


def test_counting_resumes_when_the_store_is_back(api, counters_down, settings):
    assert "X-RateLimit-Limit" not in api.get("/api/v1/merchants")
    settings.CACHES = {
        "default": {**settings.CACHES["default"], "LOCATION": settings.REDIS_URL}
    }
    response = api.get("/api/v1/merchants")
    assert response["X-RateLimit-Remaining"] == "59"


def test_a_dead_host_fails_within_the_store_timeout():
    client = ratelimits._client_for("redis://127.0.0.1:6379/0")
    kwargs = client.connection_pool.connection_kwargs
    assert kwargs["socket_connect_timeout"] == ratelimits.STORE_TIMEOUT_SECONDS
    assert kwargs["socket_timeout"] == ratelimits.STORE_TIMEOUT_SECONDS
