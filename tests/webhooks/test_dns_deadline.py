"""D24: the 8 s an attempt gets covers resolving the host too, not only the POST.

The send-time D26 check resolves the host before the POST. A resolver that
answered late held the worker past 8 s, and the POST then had a full 8 s of
its own. Only the system resolver is slowed here (``socket.getaddrinfo`` as
``urlsafety`` calls it: no DNS server runs in the tests); the connection, TLS
and the receiver are real.
"""

from __future__ import annotations

import socket
import time

import pytest

from webhooks import transport, urlsafety
from webhooks.delivery import deliver
from webhooks.models import WebhookAttempt
from webhooks.services import webhook_endpoint_set

from .conftest import PINNED_TEST_HOST, Answer, emit


@pytest.fixture
def slow_dns(monkeypatch):
    """``slow_dns["seconds"] = n``: the resolver answers for the test host after n s."""
    slow = {"seconds": 0.0}
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        if host == PINNED_TEST_HOST:
            time.sleep(slow["seconds"])
            return real("127.0.0.1", *args, **kwargs)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(urlsafety.socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(transport, "_session", None)  # no kept-alive connection
    return slow


@pytest.fixture
def pinned_endpoint(partner, receiver, slow_dns):
    url = f"https://{PINNED_TEST_HOST}:{receiver.port}/hook"
    webhook_endpoint_set(partner=partner, url=url, enabled=True)  # resolves at once


def _attempt_of(event) -> WebhookAttempt:
    return WebhookAttempt.objects.get(delivery__event=event)


def test_a_resolver_slower_than_8_s_ends_the_attempt_at_8_s_as_a_retry(
    partner, receiver, slow_dns, pinned_endpoint
):
    slow_dns["seconds"] = 10
    event = emit(partner)

    started = time.monotonic()
    recorded = deliver(delivery_id=str(event.deliveries.get().pk))
    took = time.monotonic() - started

    assert 7.9 <= took < 8.6  # D24's 8 s, not the resolver's 10
    assert recorded.state == "pending"  # retried on the D24 schedule
    attempt = _attempt_of(event)
    assert (attempt.status_code, attempt.error) == (None, "dns timeout")
    assert 7900 <= attempt.latency_ms < 8600
    assert receiver.received() == []


def test_the_post_gets_only_what_resolving_left_of_the_budget(
    partner, receiver, slow_dns, pinned_endpoint, settings
):
    settings.JOPAY_WEBHOOK_TIMEOUT_SECONDS = 3
    slow_dns["seconds"] = 2
    receiver.program("/hook", Answer(200, delay=2))  # 2 s + 2 s > 3 s
    event = emit(partner)

    started = time.monotonic()
    recorded = deliver(delivery_id=str(event.deliveries.get().pk))

    assert time.monotonic() - started < 3.6
    assert recorded.state == "pending"
    attempt = _attempt_of(event)
    assert (attempt.status_code, attempt.error) == (None, "timeout")
    assert 2900 <= attempt.latency_ms < 3600  # the whole attempt, resolving included


def test_a_resolver_within_the_budget_still_delivers(
    partner, receiver, slow_dns, pinned_endpoint, settings
):
    settings.JOPAY_WEBHOOK_TIMEOUT_SECONDS = 3
    slow_dns["seconds"] = 1
    event = emit(partner)

    assert deliver(delivery_id=str(event.deliveries.get().pk)).state == "delivered"
    assert _attempt_of(event).latency_ms >= 1000


def test_saving_a_url_waits_for_its_host_at_most_5_s(partner, receiver, slow_dns):
    """D26 resolves the host at save too: a resolver that never answers held a
    web worker for as long as it hung. Now it is refused like a host that does
    not resolve, and nothing is written."""
    from jopay_project.errors import JoPayError
    from webhooks.models import WebhookEndpoint
    from webhooks.services.endpoints import SAVE_RESOLVE_SECONDS

    slow_dns["seconds"] = SAVE_RESOLVE_SECONDS + 3
    url = f"https://{PINNED_TEST_HOST}:{receiver.port}/hook"
    started = time.monotonic()
    with pytest.raises(JoPayError) as refused:
        webhook_endpoint_set(partner=partner, url=url, enabled=True)
    assert time.monotonic() - started < SAVE_RESOLVE_SECONDS + 1
    assert refused.value.code == "invalid_webhook_url"
    assert "did not resolve within 5 seconds" in refused.value.message
    assert not WebhookEndpoint.objects.filter(partner=partner, url=url).exists()

    slow_dns["seconds"] = 0.2  # a slow but answering resolver is fine
    endpoint, _ = webhook_endpoint_set(partner=partner, url=url, enabled=True)
    assert endpoint.url == url
