"""An attempt always ends in the log and the D24 schedule always ends: a hostile
``Retry-After``, a crash after the claim, a worker that keeps dying."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from celery.exceptions import SoftTimeLimitExceeded
from django.utils import timezone

from webhooks import delivery as delivery_module
from webhooks.delivery import deliver
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from webhooks.posting import _retry_after
from webhooks.services import webhook_endpoint_set
from webhooks.services.claims import LEASE_SECONDS
from webhooks.services.outbox import (
    INTERRUPTED,
    RETRY_AFTER_CAP_SECONDS,
    Verdict,
    deliveries_interrupted_fail,
    delivery_claim,
    delivery_record,
    due_delivery_ids,
)
from webhooks.tasks import send_due_deliveries_task

from .conftest import Answer, emit, make_due
from .raw_tls import raw_tls_receiver, read_request

HUGE = "9" * 5000  # past int()'s 4 300-digit limit


@pytest.fixture
def setup(partner, endpoint_for):
    return endpoint_for(partner)


def _send(delivery):
    return deliver(delivery_id=str(delivery.pk))


def _seconds_until(when) -> float:
    return (when - timezone.now()).total_seconds()


# --- Retry-After (bug: isdigit() accepts "²", int() refuses 5000 digits) -----


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120),
        (" 120 ", 120),
        ("0000000000000000000120", 120),  # leading zeros are still 120
        ("99999999999999999999", RETRY_AFTER_CAP_SECONDS),
        (HUGE, RETRY_AFTER_CAP_SECONDS),
        ("²", None),
        ("١٢٠", None),  # Arabic-Indic digits: str.isdigit() but not HTTP
        ("1e5", None),
        ("-5", None),
        ("Mon, 01 Jan 99999999999999999999999 00:00:00 GMT", None),  # OverflowError
        ("Mon, 01 Jan 2026 00:00:00 +99999999999999999999", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_takes_only_ascii_seconds_or_a_date_and_never_raises(
    value, expected
):
    assert _retry_after(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "Fri, 17 Apr 2026 12:02:00 GMT",  # IMF-fixdate
        "Friday, 17-Apr-26 12:02:00 GMT",  # obsolete RFC 850
        "Fri Apr 17 12:02:00 2026",  # obsolete asctime (no zone: GMT)
    ],
)
def test_an_http_date_retry_after_is_never_shortened(value):
    """An HTTP-date is whole seconds and "now" is not: the wait was floored, so
    "not before 12:02:00" read at 12:00:00.4 was 119 s, a retry at 12:01:59.4."""
    with time_machine.travel(datetime(2026, 4, 17, 12, 0, 0, 400000, UTC), tick=False):
        assert _retry_after(value) == 120


def test_a_past_or_far_future_http_date():
    assert _retry_after("Thu, 01 Jan 1970 00:00:00 GMT") == 0
    far = _retry_after("Fri, 31 Dec 9999 23:59:59 GMT")
    assert far is not None
    assert far > RETRY_AFTER_CAP_SECONDS  # retry_delay caps it (D24)
    assert _retry_after("Sat, 01 Jan 10000 00:00:00 GMT") is None


@pytest.mark.parametrize("value", [HUGE, "²"])
def test_a_hostile_retry_after_still_records_the_attempt(
    partner, setup, receiver, value
):
    receiver.program("/hook", Answer(503, headers={"Retry-After": value}))
    delivery = emit(partner).deliveries.get()
    recorded = _send(delivery)
    assert recorded.state == "pending"
    delivery.refresh_from_db()
    assert delivery.locked_until is None
    assert delivery.attempt_log.get().status_code == 503
    if value == HUGE:  # "longer than anything": capped at a day (D24)
        assert _seconds_until(delivery.next_attempt_at) == pytest.approx(
            RETRY_AFTER_CAP_SECONDS, abs=5
        )
    else:  # ignored: the schedule's first step, 1 min ±10 %
        assert 50 < _seconds_until(delivery.next_attempt_at) < 70


# --- A crash after the claim is a retryable failure (D24) -----


def _crash_in_post(monkeypatch, exc: BaseException) -> None:
    def post(*args, **kwargs):
        raise exc

    monkeypatch.setattr(delivery_module, "post", post)


@pytest.mark.parametrize(
    "exc", [SoftTimeLimitExceeded(), RuntimeError("secret https://x/?t=1")]
)
def test_an_attempt_that_crashes_after_its_claim_is_a_retryable_failure(
    partner, setup, receiver, monkeypatch, exc
):
    endpoint, _ = setup
    _crash_in_post(monkeypatch, exc)
    delivery = emit(partner).deliveries.get()
    recorded = _send(delivery)
    assert recorded.state == "pending"
    assert recorded.countdown is not None  # the 1 min retry goes on the broker
    delivery.refresh_from_db()
    assert delivery.locked_until is None  # not left for the sweeper's lease path
    assert 50 < _seconds_until(delivery.next_attempt_at) < 70
    attempt = delivery.attempt_log.get()
    assert attempt.error == f"internal error: {type(exc).__name__}"  # no message
    assert attempt.status_code is None
    endpoint.refresh_from_db()
    assert endpoint.failing_since is not None  # the 5-day clock runs (D24)
    assert due_delivery_ids() == []  # not re-sent a minute later by the sweeper


def test_a_delivery_that_keeps_crashing_ends_failed(
    partner, setup, receiver, monkeypatch, settings
):
    settings.JOPAY_WEBHOOK_RETRY_SCHEDULE = [60, 60]  # three tries
    _crash_in_post(monkeypatch, SoftTimeLimitExceeded())
    delivery = emit(partner).deliveries.get()
    states = []
    for _ in range(3):
        states.append(_send(delivery).state)
        make_due(delivery)
    assert states == ["pending", "pending", "failed"]
    assert _send(delivery) is None
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == ("failed", 3)


# --- A worker that dies mid-send (SIGKILL: no except runs) -----


def test_a_delivery_whose_worker_keeps_dying_ends_failed(
    partner, setup, receiver, settings
):
    settings.JOPAY_WEBHOOK_RETRY_SCHEDULE = [60, 60]  # three tries
    endpoint, _ = setup
    delivery = emit(partner).deliveries.get()
    past = timezone.now() - timedelta(minutes=2)
    # The endpoint was on before these (time-travelled) claims: the answer of
    # an attempt claimed before a re-enable does not count for the streak.
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        enabled_at=past - timedelta(minutes=5)
    )
    for number in (1, 2, 3):
        claim = delivery_claim(delivery_id=str(delivery.pk))
        assert claim.attempt == number  # ...and the worker is killed
        # Time travel past the lease and the sweeper's re-enqueue guard.
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            locked_until=past, enqueued_at=past
        )
        expected = [str(delivery.pk)] if number < 3 else []
        assert due_delivery_ids() == expected
    # The third try was the last: no fourth send, and the sweeper ends it.
    assert delivery_claim(delivery_id=str(delivery.pk)) is None
    assert send_due_deliveries_task.run() == 0
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == ("failed", 3)
    assert delivery.locked_until is None
    log = list(delivery.attempt_log.values_list("number", "error"))
    assert log == [(1, INTERRUPTED), (2, INTERRUPTED), (3, INTERRUPTED)]
    endpoint.refresh_from_db()
    assert endpoint.failing_since is not None
    assert receiver.received() == []


def test_a_resend_after_the_last_try_died_is_sent_once(
    partner, setup, receiver, settings
):
    from webhooks.services import webhook_delivery_resend

    settings.JOPAY_WEBHOOK_RETRY_SCHEDULE = []  # one try
    delivery = emit(partner).deliveries.get()
    delivery_claim(delivery_id=str(delivery.pk))  # ...and the worker is killed
    past = timezone.now() - timedelta(minutes=2)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(locked_until=past)
    send_due_deliveries_task.run()
    delivery.refresh_from_db()
    assert delivery.state == "failed"
    webhook_delivery_resend(delivery=delivery)  # clears the lease: one more try
    assert _send(delivery).state == "delivered"
    assert receiver.received()[0].headers["x-jopay-delivery-attempt"] == "2"


def test_a_last_try_running_late_gets_one_more_lease_before_it_is_failed(
    partner, setup, settings
):
    """A last try whose worker was only slow (paused, a pool without time
    limits) may still answer after its lease: the sweeper waits one more
    lease before it ends the delivery, so the real 2xx is what counts."""
    settings.JOPAY_WEBHOOK_RETRY_SCHEDULE = []  # one try
    delivery = emit(partner).deliveries.get()
    t0 = timezone.now()
    claim = delivery_claim(delivery_id=str(delivery.pk), now=t0)
    late = t0 + timedelta(seconds=LEASE_SECONDS + 1)
    assert deliveries_interrupted_fail(now=late) == 0

    delivery_record(
        claim=claim,
        verdict=Verdict.delivered(),
        status_code=200,
        latency_ms=61_000,
        error="",
        response_body="ok",
        now=late,
    )

    delivery.refresh_from_db()
    assert delivery.state == "delivered"
    assert (
        deliveries_interrupted_fail(now=t0 + timedelta(seconds=3 * LEASE_SECONDS)) == 0
    )


def test_a_sweep_that_lost_the_race_leaves_the_endpoint_healthy(
    partner, setup, settings
):
    settings.JOPAY_WEBHOOK_RETRY_SCHEDULE = []
    endpoint, _ = setup
    delivery = emit(partner).deliveries.get()
    t0 = timezone.now()
    claim = delivery_claim(delivery_id=str(delivery.pk), now=t0)
    delivery_record(
        claim=claim,
        verdict=Verdict.delivered(),
        status_code=200,
        latency_ms=5,
        error="",
        response_body="",
        now=t0 + timedelta(seconds=5),
    )
    # The sweeper read the row before that answer and writes after it.
    delivery_record(
        claim=claim,
        verdict=Verdict.retry(),
        status_code=None,
        latency_ms=None,
        error=INTERRUPTED,
        response_body="",
        now=t0 + timedelta(seconds=3 * LEASE_SECONDS),
        interrupted=True,
    )

    delivery.refresh_from_db()
    endpoint.refresh_from_db()
    assert (delivery.state, endpoint.failing_since) == ("delivered", None)


# --- A receiver that dribbles its answer's head (bug: held past the timeout) --


def _tls_receiver(receiver_ca, answer):
    """A one-connection TLS receiver on 127.0.0.1 (certified by the suite's CA)
    that reads the request, then lets ``answer(tls)`` write; its URL."""

    def serve(tls) -> None:
        read_request(tls)
        answer(tls)

    return raw_tls_receiver(receiver_ca[0], serve)


@pytest.fixture
def dribbling_receiver(_receiver_ca, receiver):
    """A TLS receiver that sends its status line at once, then one header byte
    every 0.2 s for 6 s: each read finishes inside the read timeout."""

    def answer(tls) -> None:
        tls.sendall(b"HTTP/1.1 200 OK\r\n")
        for byte in b"X-Slow: " + b"a" * 30:
            tls.sendall(bytes([byte]))
            time.sleep(0.2)
        tls.sendall(b"\r\nContent-Length: 0\r\n\r\n")

    listener, url = _tls_receiver(_receiver_ca, answer)
    yield url
    listener.close()


def test_an_answer_whose_head_dribbles_past_the_timeout_is_cut_off_there(
    partner, dribbling_receiver, settings
):
    # D24: 2xx within the timeout (8 s) or it is a timeout. Each header byte
    # came inside the per-read timeout, so the send waited for the whole head
    # (6 s here, the task's soft limit in a worker) and the attempt was logged
    # as JoPay's "internal error: SoftTimeLimitExceeded", without a latency.
    settings.JOPAY_WEBHOOK_TIMEOUT_SECONDS = 1
    webhook_endpoint_set(partner=partner, url=dribbling_receiver, enabled=True)
    delivery = emit(partner).deliveries.get()

    started = time.monotonic()
    assert _send(delivery).state == WebhookDelivery.State.PENDING
    assert time.monotonic() - started < 2.5
    (attempt,) = WebhookAttempt.objects.filter(delivery=delivery)
    assert (attempt.status_code, attempt.error) == (None, "timeout")
    assert 900 <= attempt.latency_ms < 2500


@pytest.fixture
def dribbling_body_receiver(_receiver_ca, receiver):
    """A TLS receiver that answers 200 at once, then sends its 100 kB body one
    byte every 0.2 s: each read of the body finishes inside its timeout."""

    def answer(tls) -> None:
        tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n")
        for _ in range(30):
            tls.sendall(b"x")
            time.sleep(0.2)

    listener, url = _tls_receiver(_receiver_ca, answer)
    yield url
    listener.close()


def test_a_2xx_whose_body_dribbles_is_delivered_within_the_timeout(
    partner, dribbling_body_receiver, settings
):
    # D24: the 2xx came in time, so it is delivered, and the send ends at the
    # timeout. Reading the kept 2 KiB of the body waited for all 8 KiB of a
    # read, byte by byte (each inside the read timeout): the worker was held
    # until the answer ended or the task's soft limit, 20 s.
    settings.JOPAY_WEBHOOK_TIMEOUT_SECONDS = 1
    webhook_endpoint_set(partner=partner, url=dribbling_body_receiver, enabled=True)
    delivery = emit(partner).deliveries.get()

    started = time.monotonic()
    assert _send(delivery).state == WebhookDelivery.State.DELIVERED
    assert time.monotonic() - started < 2.5
    (attempt,) = WebhookAttempt.objects.filter(delivery=delivery)
    assert attempt.status_code == 200
