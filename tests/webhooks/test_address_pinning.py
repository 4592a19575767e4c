"""D26: a send connects only to the addresses the URL check approved.

The check and the connection used to look the host up separately, so a DNS
record with a short lifetime could answer "public" to the check and "private"
to the connect (rebinding), and a non-ASCII name was checked under one IDNA
spelling and connected under another. Only the DNS answers are simulated here
(``urlsafety.resolve``: no DNS server runs in the tests); the connection, TLS
and the receiver are real.
"""

from __future__ import annotations

import pytest
import requests

from webhooks import delivery, transport, urlsafety
from webhooks.delivery import deliver
from webhooks.models import WebhookAttempt
from webhooks.services import webhook_endpoint_set

from .conftest import PINNED_TEST_HOST, emit


def test_the_connection_goes_to_the_approved_address_not_a_new_look_up(
    partner, receiver, dns
):
    # No resolver knows this name: only the approved address can reach the receiver.
    dns[PINNED_TEST_HOST] = ["127.0.0.1"]
    url = f"https://{PINNED_TEST_HOST}:{receiver.port}/hook"
    webhook_endpoint_set(partner=partner, url=url, enabled=True)
    event = emit(partner)

    recorded = deliver(delivery_id=str(event.deliveries.get().pk))

    assert recorded.state == "delivered"
    (got,) = receiver.received()
    # TLS was verified for the name (the certificate holds it) and Host carries it.
    assert got.headers["host"] == f"{PINNED_TEST_HOST}:{receiver.port}"


def test_a_rebinding_answer_after_the_check_is_never_connected_to(
    partner, receiver, dns
):
    # The system resolver says 127.0.0.1 (where the receiver listens); the check
    # approved 127.0.0.2, where nothing listens. A second look-up would deliver.
    url = f"https://localhost:{receiver.port}/hook"
    webhook_endpoint_set(partner=partner, url=url, enabled=True)
    dns["localhost"] = ["127.0.0.2"]
    event = emit(partner)

    recorded = deliver(delivery_id=str(event.deliveries.get().pk))

    assert recorded.state == "pending"  # retried later, like any refused connection
    attempt = WebhookAttempt.objects.get(delivery__event=event)
    assert attempt.error == "connection error"
    assert receiver.received() == []


def test_every_approved_address_is_tried_in_turn(partner, receiver, dns):
    dns[PINNED_TEST_HOST] = ["127.0.0.2", "127.0.0.1"]  # the first refuses
    url = f"https://{PINNED_TEST_HOST}:{receiver.port}/hook"
    webhook_endpoint_set(partner=partner, url=url, enabled=True)
    event = emit(partner)

    assert deliver(delivery_id=str(event.deliveries.get().pk)).state == "delivered"
    assert len(receiver.received()) == 1


def test_the_session_refuses_to_connect_without_an_approval(receiver, dns):
    with pytest.raises(requests.ConnectionError, match="no D26-approved address"):
        transport.session().post(
            receiver.url(), data=b"{}", verify=str(receiver.ca_path), timeout=2
        )
    assert receiver.received() == []


def test_an_approval_for_another_host_does_not_count(receiver, dns):
    approved = ("elsewhere.example", ["127.0.0.1"])
    result = delivery.post(receiver.url(), b"{}", {}, timeout=2, approved=approved)
    assert (result.status_code, result.error) == (None, "connection error")
    assert receiver.received() == []


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("https://faß.de/hook", "xn--fa-hia.de"),  # IDNA 2003 would say fass.de
        ("https://βόλος.com/hook", "xn--nxasmm1c.com"),
        ("https://Example.COM./hook", "example.com."),
    ],
)
def test_the_host_checked_is_the_host_requests_connects_to(url, host):
    assert urlsafety.parse_https_url(url) == (host, 443)
    prepared = requests.Request("POST", url).prepare()
    assert prepared.url.split("/")[2].lower() == host


@pytest.mark.parametrize("host", ["a\u200db.com", "\u0661a.com"])
def test_an_invalid_international_name_is_refused(host):
    with pytest.raises(urlsafety.UnsafeUrlError, match="international"):
        urlsafety.parse_https_url(f"https://{host}/hook")


@pytest.fixture
def blackhole(receiver):
    """127.0.0.2 at the receiver's port drops every SYN: a full accept queue.

    What a partner's address that is down behind a firewall looks like: the
    connect times out instead of being refused.
    """
    import contextlib
    import socket
    import time

    listener = socket.socket()
    listener.bind(("127.0.0.2", receiver.port))
    listener.listen(0)
    filling = []
    for _ in range(4):
        sock = socket.socket()
        sock.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            sock.connect(("127.0.0.2", receiver.port))
        filling.append(sock)
    time.sleep(0.2)
    yield "127.0.0.2"
    for sock in [*filling, listener]:
        sock.close()


def test_an_approved_address_that_times_out_does_not_hide_the_next(
    partner, receiver, dns, blackhole
):
    # A host with two addresses, the first one dropping packets (a node down
    # behind a firewall, a broken IPv6 route): the next address is tried in
    # the time left, as requests does on its own (D24: 2xx within 8 s). It
    # stopped at the first timeout, so every delivery to such a host failed
    # although the host answered at its other address (D26 pinning).
    dns[PINNED_TEST_HOST] = [blackhole, "127.0.0.1"]
    url = f"https://{PINNED_TEST_HOST}:{receiver.port}/hook"
    webhook_endpoint_set(partner=partner, url=url, enabled=True)
    event = emit(partner)

    assert deliver(delivery_id=str(event.deliveries.get().pk)).state == "delivered"
    assert len(receiver.received()) == 1
