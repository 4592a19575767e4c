"""A receiver's TLS handshake may use the attempt's whole timeout (D24).

D24 and /docs/events/#delivery: "any 2xx within 8 seconds (counted from the
look-up of your host name)" is delivered. The TCP connect to one address is
capped (``CONNECT_TIMEOUT_CAP``, so another address can still be tried), but
the TLS handshake ran under that cap too: a receiver whose handshake took
longer than 4 s, then answered 200 at once, was logged as a timeout and sent
again, although its 2xx came well inside the 8 s.
"""

from __future__ import annotations

import time

import pytest

from webhooks import posting
from webhooks.delivery import deliver
from webhooks.models import WebhookAttempt, WebhookDelivery
from webhooks.services import webhook_endpoint_set

from .conftest import emit
from .raw_tls import raw_tls_receiver, read_request

CAP = 0.5  # stands for CONNECT_TIMEOUT_CAP (4 s), to keep the test short
TIMEOUT = 3  # stands for JOPAY_WEBHOOK_TIMEOUT_SECONDS (8 s)


def _slow_handshake_receiver(receiver_ca, delay: float):
    """A TLS receiver on 127.0.0.1 that accepts the TCP connection at once but
    starts its TLS handshake only after ``delay`` seconds, then answers 200."""

    def serve(tls) -> None:
        read_request(tls)
        tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")

    return raw_tls_receiver(receiver_ca[0], serve, handshake_after=delay)


@pytest.fixture
def short_timeouts(monkeypatch, settings):
    monkeypatch.setattr(posting, "CONNECT_TIMEOUT_CAP", CAP)
    settings.JOPAY_WEBHOOK_TIMEOUT_SECONDS = TIMEOUT


@pytest.fixture
def attempt_through(partner, _receiver_ca, receiver, short_timeouts):
    """``attempt_through(delay)`` → the one attempt at a receiver whose
    handshake starts after ``delay`` seconds."""

    def attempt(delay: float) -> WebhookAttempt:
        listener, url = _slow_handshake_receiver(_receiver_ca, delay)
        try:
            webhook_endpoint_set(partner=partner, url=url, enabled=True)
            delivery = emit(partner).deliveries.get()
            deliver(delivery_id=str(delivery.pk))
        finally:
            listener.close()
        return WebhookAttempt.objects.get(delivery=delivery)

    return attempt


def test_a_handshake_longer_than_the_connect_cap_but_inside_the_timeout_delivers(
    attempt_through,
):
    attempt = attempt_through(3 * CAP)

    assert (attempt.status_code, attempt.error) == (200, "")
    assert attempt.delivery.state == WebhookDelivery.State.DELIVERED


def test_a_handshake_that_never_ends_is_a_timeout_at_the_timeout(attempt_through):
    started = time.monotonic()
    attempt = attempt_through(TIMEOUT + 3)

    assert (attempt.status_code, attempt.error) == (None, "timeout")
    assert TIMEOUT * 1000 - 300 <= attempt.latency_ms < TIMEOUT * 1000 + 1000
    assert time.monotonic() - started < TIMEOUT + 2
