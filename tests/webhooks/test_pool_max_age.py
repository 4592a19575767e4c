"""Kept-alive connections to receivers have a maximum age (D24, D26).

A partner moving its receiver (a new DNS answer) or rotating its certificate
kept getting deliveries at the old address, over the old TLS session, for as
long as the worker's pooled connection stayed busy: for ever. Only the DNS
answers are simulated (``urlsafety.resolve``); the receivers, TLS and the
pool are real.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time

import pytest

from webhooks import transport
from webhooks.delivery import deliver
from webhooks.models import WebhookAttempt
from webhooks.services import webhook_endpoint_set

from .conftest import PINNED_TEST_HOST, emit
from .raw_tls import read_request

MAX_AGE = 0.5  # stands for POOLED_CONNECTION_MAX_AGE_SECONDS, to keep it short


@pytest.fixture
def new_home(_receiver_ca, receiver):
    """The partner's receiver at its new address, 127.0.0.42 on the same port,
    with a freshly issued certificate; yields the list of requests it got.
    (An address no other test binds: this server closes first, so its port
    stays in TIME_WAIT for a while.)"""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    _receiver_ca[0].issue_cert(PINNED_TEST_HOST).configure_cert(context)
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.42", receiver.port))
    listener.listen(8)
    got: list[float] = []

    def run() -> None:
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with (
                contextlib.suppress(OSError),
                context.wrap_socket(conn, server_side=True) as tls,
            ):
                if read_request(tls):
                    got.append(time.time())
                    tls.sendall(
                        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n"
                        b"Connection: close\r\n\r\n"
                    )

    threading.Thread(target=run, daemon=True).start()
    yield got
    with contextlib.suppress(OSError):
        listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept
    listener.close()


@pytest.fixture
def moved_receiver(partner, receiver, dns, new_home):
    """One delivery to the old address (its connection is kept alive), then
    the partner's DNS points at the new one; ``send()`` delivers a new event."""
    dns[PINNED_TEST_HOST] = ["127.0.0.1"]
    url = f"https://{PINNED_TEST_HOST}:{receiver.port}/hook"
    webhook_endpoint_set(partner=partner, url=url, enabled=True)
    first = deliver(delivery_id=str(emit(partner).deliveries.get().pk))
    assert first.state == "delivered"
    dns[PINNED_TEST_HOST] = ["127.0.0.42"]

    def send():
        event = emit(partner)
        recorded = deliver(delivery_id=str(event.deliveries.get().pk))
        return recorded, WebhookAttempt.objects.get(delivery__event=event)

    return send


def test_a_young_kept_alive_connection_is_still_reused(
    moved_receiver, receiver, new_home, monkeypatch
):
    monkeypatch.setattr(transport, "POOLED_CONNECTION_MAX_AGE_SECONDS", 60.0)

    recorded, _ = moved_receiver()

    # Keep-alive still saves a handshake per delivery within the age.
    assert recorded.state == "delivered"
    assert len(receiver.received()) == 2
    assert new_home == []


def test_past_its_max_age_a_connection_is_replaced_and_dns_changes_apply(
    moved_receiver, receiver, new_home, monkeypatch
):
    monkeypatch.setattr(transport, "POOLED_CONNECTION_MAX_AGE_SECONDS", MAX_AGE)
    time.sleep(MAX_AGE + 0.2)

    recorded, attempt = moved_receiver()

    assert (recorded.state, attempt.status_code) == ("delivered", 200)
    assert len(new_home) == 1  # the new address, with its new certificate
    assert len(receiver.received()) == 1  # the old one got only the first


def test_the_default_max_age_is_bounded():
    # A switch of DNS or certificate takes effect within minutes, not never.
    assert 0 < transport.POOLED_CONNECTION_MAX_AGE_SECONDS <= 600
