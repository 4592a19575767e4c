"""Informational 1xx answers before the final one (102 Processing, 103 Early
Hints) are skipped, as HTTP says a client must (RFC 9110 §15.2) (D24).

Python's ``http.client`` skips only ``100 Continue``: a ``103`` was taken as
the final answer. The delivery was retried although the receiver answered 200
(and its endpoint started a failing streak), and the 200 that followed was
left on the kept-alive connection, where the next delivery to that host read
it as its own answer: a delivery the receiver answered 500 was marked
``delivered`` and never sent again.
"""

from __future__ import annotations

import time

import pytest

from webhooks.delivery import deliver
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.services import webhook_endpoint_set

from .conftest import emit
from .raw_tls import raw_tls_receiver, read_request


def _keep_alive_receiver(ca, answers):
    """A TLS receiver on 127.0.0.1 answering each request of one kept-alive
    connection with the next of ``answers`` (raw bytes, sent in parts with a
    short pause between them); its listener and URL."""

    def serve(tls) -> None:
        for parts in answers:
            if not read_request(tls):
                return
            for index, part in enumerate(parts):
                if index:
                    time.sleep(0.3)
                tls.sendall(part)
        time.sleep(2)

    return raw_tls_receiver(ca, serve)


@pytest.fixture
def keep_alive_receiver(_receiver_ca, receiver):
    """``keep_alive_receiver(answers)`` → the URL of a new such receiver."""
    listeners = []

    def make(answers) -> str:
        listener, url = _keep_alive_receiver(_receiver_ca[0], answers)
        listeners.append(listener)
        return url

    yield make
    for listener in listeners:
        listener.close()


OK_FIRST = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfirst"
FAILED_SECOND = b"HTTP/1.1 500 Oops\r\nContent-Length: 6\r\n\r\nsecond"


@pytest.mark.parametrize(
    "interim",
    [
        b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n",
        b"HTTP/1.1 102 Processing\r\n\r\n",
        b"HTTP/1.1 102 Processing\r\n\r\nHTTP/1.1 103 Early Hints\r\n\r\n",
    ],
    ids=["103", "102", "102+103"],
)
def test_an_interim_answer_is_skipped_and_the_final_one_decides(
    partner, keep_alive_receiver, interim
):
    url = keep_alive_receiver([[interim, OK_FIRST], [FAILED_SECOND]])
    webhook_endpoint_set(partner=partner, url=url, enabled=True)
    first = emit(partner).deliveries.get()
    second = emit(partner).deliveries.get()

    assert deliver(delivery_id=str(first.pk)).state == "delivered"
    # The next delivery to the host rides the same kept-alive connection and
    # gets its own answer.
    assert deliver(delivery_id=str(second.pk)).state == "pending"

    first.refresh_from_db()
    second.refresh_from_db()
    assert (first.state, first.last_status_code) == ("delivered", 200)
    assert first.attempt_log.get().response_body == "first"
    assert (second.state, second.last_status_code) == ("pending", 500)
    assert second.attempt_log.get().response_body == "second"
    assert WebhookDelivery.objects.filter(state="delivered").count() == 1


def test_interim_answers_without_end_are_a_timeout(
    partner, keep_alive_receiver, settings
):
    # D24's deadline bounds a receiver that only ever sends 1xx answers.
    settings.JOPAY_WEBHOOK_TIMEOUT_SECONDS = 1
    url = keep_alive_receiver([[b"HTTP/1.1 102 Processing\r\n\r\n"] * 12])
    webhook_endpoint_set(partner=partner, url=url, enabled=True)
    delivery = emit(partner).deliveries.get()

    started = time.monotonic()
    assert deliver(delivery_id=str(delivery.pk)).state == "pending"
    assert time.monotonic() - started < 2.5
    attempt = delivery.attempt_log.get()
    assert (attempt.status_code, attempt.error) == (None, "timeout")
    assert WebhookEndpoint.objects.get(partner=partner).failing_since is not None
