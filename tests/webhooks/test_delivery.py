"""One attempt end to end in-process: real TLS receiver, real PostgreSQL (D23-D26).

The task body runs in the test process here; ``test_worker.py`` repeats the
important paths with a real Celery worker.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import timedelta

import pytest
from django.db.models import F
from django.utils import timezone
from standardwebhooks import Webhook

from webhooks import signing
from webhooks.delivery import deliver
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from webhooks.services import (
    webhook_rotation_confirm,
    webhook_secret_rotate,
)
from webhooks.services.outbox import (
    Verdict,
    delivery_claim,
    delivery_record,
    due_delivery_ids,
    events_purge,
    retry_delay,
)
from webhooks.tasks import webhook_delivery_send_task

from .conftest import Answer, emit, make_due


@pytest.fixture
def setup(partner, endpoint_for):
    endpoint, secret = endpoint_for(partner)
    return endpoint, secret


def _send(delivery):
    return deliver(delivery_id=str(delivery.pk))


def test_2xx_is_delivered_with_both_signatures_valid(partner, setup, receiver):
    _, secret = setup
    rid = uuid.uuid4()
    event = emit(
        partner,
        request_id=rid,
        data={"proof_status": "attached", "metadata": {"order": "ä-1"}},
    )
    delivery = event.deliveries.get()
    recorded = _send(delivery)
    assert recorded.state == "delivered"
    (got,) = receiver.received("/hook")
    body = json.loads(got.body)
    assert body["delivery_id"] == str(delivery.pk) == got.headers["webhook-id"]
    assert body["event"] == "payment.proof_attached"
    assert body["request_id"] == str(rid)
    assert body["sequence"] == 1
    assert body["metadata"] == {"order": "ä-1"}
    assert got.headers["content-type"] == "application/json"
    assert got.headers["user-agent"] == "JoPay-Webhooks/1"
    assert got.headers["x-jopay-delivery-attempt"] == "1"
    assert signing.verify_jopay(
        got.headers["x-jopay-signature"], got.body, secret, now=int(time.time())
    )
    Webhook(signing.standard_secret(secret)).verify(got.body, got.headers)
    delivery.refresh_from_db()
    assert delivery.state == "delivered"
    assert delivery.delivered_at is not None
    assert delivery.last_status_code == 200
    assert delivery.locked_until is None
    (attempt,) = delivery.attempt_log.all()
    assert attempt.number == 1
    assert attempt.status_code == 200
    assert attempt.response_body == "ok"
    assert attempt.error == ""
    assert attempt.latency_ms is not None


def test_5xx_retries_on_schedule_with_the_same_delivery_id(
    partner, setup, receiver, settings
):
    settings.JOPAY_WEBHOOK_RETRY_SCHEDULE = [60, 300]
    receiver.program("/hook", Answer(500, body=b"boom"), Answer(200))
    delivery = emit(partner).deliveries.get()
    before = timezone.now()
    recorded = _send(delivery)
    assert recorded.state == "pending"
    delivery.refresh_from_db()
    assert delivery.attempts == 1
    assert delivery.last_status_code == 500
    assert before + timedelta(seconds=54) <= delivery.next_attempt_at
    assert delivery.next_attempt_at <= timezone.now() + timedelta(seconds=66)
    assert recorded.countdown is not None  # short retries also ride the broker
    assert _send(delivery) is None  # not due yet: nothing is sent
    make_due(delivery)
    assert _send(delivery).state == "delivered"
    first, second = receiver.received("/hook")
    assert (
        first.headers["webhook-id"] == second.headers["webhook-id"] == str(delivery.pk)
    )
    assert [
        first.headers["x-jopay-delivery-attempt"],
        second.headers["x-jopay-delivery-attempt"],
    ] == ["1", "2"]
    assert json.loads(first.body) == json.loads(second.body)
    codes = list(
        delivery.attempt_log.values_list("number", "status_code", "response_body")
    )
    assert codes == [(1, 500, "boom"), (2, 200, "ok")]


def test_after_the_last_try_the_delivery_fails(partner, setup, receiver, settings):
    settings.JOPAY_WEBHOOK_RETRY_SCHEDULE = [0, 0]
    receiver.program("/hook", Answer(503))
    delivery = emit(partner).deliveries.get()
    states = [_send(delivery).state for _ in range(3)]
    assert states == ["pending", "pending", "failed"]
    assert _send(delivery) is None
    delivery.refresh_from_db()
    assert delivery.state == "failed"
    assert delivery.attempts == 3
    assert len(receiver.received()) == 3


def test_retry_delay_has_10_percent_jitter_and_honours_longer_retry_after(settings):
    settings.JOPAY_WEBHOOK_RETRY_SCHEDULE = [100, 200]
    delays = [retry_delay(attempt=1, retry_after=None) for _ in range(200)]
    assert all(90 <= d <= 110 for d in delays)
    assert len(set(delays)) > 1
    assert retry_delay(attempt=2, retry_after=5) >= 180  # shorter Retry-After: ignored
    assert retry_delay(attempt=1, retry_after=1000) == 1000
    assert retry_delay(attempt=3, retry_after=None) is None  # schedule spent


def test_429_retry_after_is_honoured(partner, setup, receiver, settings):
    settings.JOPAY_WEBHOOK_RETRY_SCHEDULE = [1]
    receiver.program("/hook", Answer(429, headers={"Retry-After": "600"}))
    delivery = emit(partner).deliveries.get()
    assert _send(delivery).state == "pending"
    delivery.refresh_from_db()
    assert delivery.next_attempt_at >= timezone.now() + timedelta(seconds=590)


@pytest.mark.parametrize("status", [400, 401, 404, 422])
def test_other_4xx_abandons_after_one_try(partner, setup, receiver, status):
    receiver.program("/hook", Answer(status))
    delivery = emit(partner).deliveries.get()
    assert _send(delivery).state == "abandoned"
    make_due(delivery)
    assert _send(delivery) is None
    delivery.refresh_from_db()
    assert delivery.abandoned_reason == "client_error"
    assert delivery.attempts == 1
    assert len(receiver.received()) == 1
    endpoint = WebhookEndpoint.objects.get(partner=partner)
    assert endpoint.enabled
    assert endpoint.failing_since is not None


def test_410_abandons_and_disables_the_endpoint(partner, setup, receiver):
    receiver.program("/hook", Answer(410))
    first = emit(partner).deliveries.get()
    second = emit(partner).deliveries.get()
    assert _send(first).state == "abandoned"
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.abandoned_reason == "endpoint_gone"
    assert second.state == "abandoned"
    assert second.abandoned_reason == "endpoint_disabled"
    endpoint = WebhookEndpoint.objects.get(partner=partner)
    assert not endpoint.enabled
    assert endpoint.disabled_reason == "endpoint_gone"
    assert endpoint.disabled_at is not None
    assert not emit(partner).deliveries.exists()


def test_a_410_abandons_only_with_the_endpoint_disabled(
    partner, setup, receiver, monkeypatch
):
    # D24: both in one transaction. A worker dying between them (here: the
    # disable failing) left the delivery abandoned and the endpoint enabled.
    from webhooks.services import streak

    def dies(**kwargs):
        raise RuntimeError("worker killed")

    monkeypatch.setattr(streak, "webhook_endpoint_disable", dies)
    receiver.program("/hook", Answer(410))
    delivery = emit(partner).deliveries.get()
    with pytest.raises(RuntimeError):
        _send(delivery)
    delivery.refresh_from_db()
    assert delivery.state == "pending"  # its lease runs out; the sweeper retries
    assert WebhookEndpoint.objects.get(partner=partner).enabled


@pytest.mark.parametrize("status", [301, 302, 307, 308])
def test_3xx_is_abandoned_and_never_followed(partner, setup, receiver, status):
    receiver.program("/hook", Answer(status, headers={"Location": receiver.url("/x")}))
    delivery = emit(partner).deliveries.get()
    assert _send(delivery).state == "abandoned"
    delivery.refresh_from_db()
    assert delivery.abandoned_reason == "redirect_not_followed"
    assert delivery.last_status_code == status
    assert receiver.received("/x") == []


def test_a_3xx_body_is_read_only_up_to_the_2_kib_the_log_keeps(
    partner, setup, receiver
):
    """``requests`` read a redirect's whole body before handing the answer back
    (to prepare ``Response.next``), even with ``allow_redirects=False``: an
    endless 302 body filled the worker's memory until the cut-off, and the
    log got an empty body. Now the 2 KiB cap applies as to any answer."""
    import tracemalloc

    big = b"<html>moved</html>" + b"x" * (40 * 1024 * 1024)
    receiver.program(
        "/hook", Answer(302, headers={"Location": receiver.url("/x")}, body=big)
    )
    delivery = emit(partner).deliveries.get()
    tracemalloc.start()
    try:
        assert _send(delivery).state == "abandoned"
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 8 * 1024 * 1024  # not the 40 MB body
    attempt = WebhookAttempt.objects.get(delivery=delivery)
    assert attempt.status_code == 302
    assert attempt.response_body.startswith("<html>moved</html>xxx")
    assert len(attempt.response_body) == 2048
    assert receiver.received("/x") == []


def test_timeout_is_retried(partner, setup, receiver, settings):
    settings.JOPAY_WEBHOOK_TIMEOUT_SECONDS = 1
    receiver.program("/hook", Answer(200, delay=2.5))
    delivery = emit(partner).deliveries.get()
    started = time.monotonic()
    assert _send(delivery).state == "pending"
    assert time.monotonic() - started < 2.2
    (attempt,) = WebhookAttempt.objects.filter(delivery=delivery)
    assert attempt.status_code is None
    assert attempt.error == "timeout"
    assert 900 <= attempt.latency_ms < 2200


def test_connection_error_is_retried(partner, receiver, settings):
    settings.JOPAY_WEBHOOK_ALLOW_PRIVATE_HOSTS = True
    from webhooks.services import webhook_endpoint_set

    webhook_endpoint_set(partner=partner, url="https://127.0.0.1:1/hook", enabled=True)
    delivery = emit(partner).deliveries.get()
    assert _send(delivery).state == "pending"
    attempt = delivery.attempt_log.get()
    assert attempt.status_code is None
    assert attempt.error == "connection error"


def test_tls_is_verified(partner, setup, receiver, settings, tmp_path):
    import trustme

    other_ca = tmp_path / "other.pem"
    trustme.CA().cert_pem.write_to_path(str(other_ca))
    settings.JOPAY_WEBHOOK_CA_BUNDLE = str(other_ca)
    delivery = emit(partner).deliveries.get()
    assert _send(delivery).state == "pending"
    assert delivery.attempt_log.get().error == "tls error"
    assert receiver.received() == []


def test_only_the_first_2_kib_of_the_answer_is_kept(partner, setup, receiver):
    receiver.program("/hook", Answer(200, body=b"x" * 10_000))
    delivery = emit(partner).deliveries.get()
    _send(delivery)
    assert len(delivery.attempt_log.get().response_body) == 2048


def test_the_2_kib_cut_never_ends_in_half_a_character(partner, setup, receiver):
    """The cut at 2 KiB fell inside a multi-byte UTF-8 character of the
    receiver's answer (an error message in Greek, say), and the portal and the
    events API showed the answer ending in a "\ufffd" it never contained."""
    body = ("x" + "é" * 5_000).encode()  # 2048 bytes end inside an "é"
    receiver.program("/hook", Answer(400, body=body))
    delivery = emit(partner).deliveries.get()
    _send(delivery)
    kept = delivery.attempt_log.get().response_body
    assert "\ufffd" not in kept
    assert kept == "x" + "é" * 1023
    assert len(kept.encode()) == 2047


def test_a_short_answer_that_is_not_utf8_is_kept_as_replacement_characters(
    partner, setup, receiver
):
    receiver.program("/hook", Answer(400, body=b"bad \xff\xc3"))
    delivery = emit(partner).deliveries.get()
    _send(delivery)
    assert delivery.attempt_log.get().response_body == "bad \ufffd\ufffd"


def test_task_run_twice_sends_once(partner, setup, receiver):
    delivery = emit(partner).deliveries.get()
    assert webhook_delivery_send_task.run(str(delivery.pk)) == "delivered"
    assert webhook_delivery_send_task.run(str(delivery.pk)) == "skipped"
    make_due(delivery)
    assert webhook_delivery_send_task.run(str(delivery.pk)) == "skipped"
    assert len(receiver.received()) == 1


def test_a_leased_delivery_is_not_sent_by_a_second_worker(partner, setup, receiver):
    delivery = emit(partner).deliveries.get()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        locked_until=timezone.now() + timedelta(seconds=30)
    )
    assert _send(delivery) is None
    assert due_delivery_ids() == []
    assert receiver.received() == []


def test_rotation_sends_both_signatures_until_confirmed(partner, setup, receiver):
    _, old = setup
    new = webhook_secret_rotate(partner=partner)
    _send(emit(partner).deliveries.get())
    webhook_rotation_confirm(partner=partner)
    _send(emit(partner).deliveries.get())
    during, after = receiver.received()
    now = int(time.time())
    assert during.headers["x-jopay-signature"].count("v1=") == 2
    assert len(during.headers["webhook-signature"].split(" ")) == 2
    for secret in (new, old):
        assert signing.verify_jopay(
            during.headers["x-jopay-signature"], during.body, secret, now=now
        )
        Webhook(signing.standard_secret(secret)).verify(during.body, during.headers)
    assert after.headers["x-jopay-signature"].count("v1=") == 1
    assert signing.verify_jopay(
        after.headers["x-jopay-signature"], after.body, new, now=now
    )
    assert not signing.verify_jopay(
        after.headers["x-jopay-signature"], after.body, old, now=now
    )


def test_endpoint_failing_for_5_days_is_disabled(partner, setup, receiver, settings):
    settings.JOPAY_WEBHOOK_RETRY_SCHEDULE = [0] * 5
    endpoint, _ = setup
    receiver.program("/hook", Answer(500))
    waiting = emit(partner).deliveries.get()
    WebhookDelivery.objects.filter(pk=waiting.pk).update(
        next_attempt_at=timezone.now() + timedelta(hours=1)
    )
    delivery = emit(partner).deliveries.get()
    _send(delivery)
    endpoint.refresh_from_db()
    assert endpoint.enabled
    assert endpoint.failing_since is not None
    # Time travel: the first failure was 5 days (+1 s) ago.
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        failing_since=timezone.now() - timedelta(days=5, seconds=1)
    )
    assert _send(delivery).state == "abandoned"  # with the others, not retried
    endpoint.refresh_from_db()
    assert not endpoint.enabled
    assert endpoint.disabled_reason == "failing_too_long"
    for row in (delivery, waiting):
        row.refresh_from_db()
        assert row.state == "abandoned"
        assert row.abandoned_reason == "endpoint_disabled"


def test_a_quiet_endpoint_is_not_disabled_by_one_failure_days_later(
    partner, setup, receiver, settings
):
    # One 404 six days ago started a streak; no event since. A single 503 now
    # disabled the endpoint and abandoned everything after one try, though it
    # never was "failing for 5 days". A streak is failures in a row (D24).
    settings.JOPAY_WEBHOOK_RETRY_SCHEDULE = [0] * 5
    endpoint, _ = setup
    receiver.program("/hook", Answer(404), Answer(503))
    old = emit(partner).deliveries.get()
    _send(old)
    six_days_ago = timezone.now() - timedelta(days=6)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=six_days_ago)
    WebhookAttempt.objects.filter(delivery=old).update(started_at=six_days_ago)

    delivery = emit(partner).deliveries.get()
    assert _send(delivery).state == "pending"  # retried on the schedule

    endpoint.refresh_from_db()
    assert endpoint.enabled
    assert endpoint.failing_since > timezone.now() - timedelta(minutes=1)


def test_4_days_of_failure_is_not_enough_and_a_2xx_clears_the_streak(
    partner, setup, receiver, settings
):
    settings.JOPAY_WEBHOOK_RETRY_SCHEDULE = [0] * 5
    endpoint, _ = setup
    receiver.program("/hook", Answer(500), Answer(200))
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        failing_since=timezone.now() - timedelta(days=4)
    )
    delivery = emit(partner).deliveries.get()
    _send(delivery)
    endpoint.refresh_from_db()
    assert endpoint.enabled
    assert _send(delivery).state == "delivered"
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None


def test_a_2xx_after_a_concurrent_failure_ends_the_streak(partner, setup):
    """D24 "no 2xx for 5 days since its first failure": two sends in flight on
    a healthy endpoint; one answers 503 (the streak starts), the other 200 a
    second later. The 200 ends the streak, so a single 503 six days later does
    not disable the endpoint and abandon its deliveries."""
    endpoint, _ = setup
    first, second = emit(partner).deliveries.get(), emit(partner).deliveries.get()
    t0 = timezone.now()
    ok = delivery_claim(delivery_id=str(first.pk), now=t0)
    failing = delivery_claim(delivery_id=str(second.pk), now=t0)
    record = {"latency_ms": 5, "error": "", "response_body": ""}
    delivery_record(
        claim=failing,
        verdict=Verdict.retry(),
        status_code=503,
        now=t0 + timedelta(seconds=1),
        **record,
    )
    delivery_record(
        claim=ok,
        verdict=Verdict.delivered(),
        status_code=200,
        now=t0 + timedelta(seconds=2),
        **record,
    )
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None

    later = t0 + timedelta(days=6)
    third = emit(partner).deliveries.get()
    WebhookDelivery.objects.filter(pk=third.pk).update(next_attempt_at=later)
    claim = delivery_claim(delivery_id=str(third.pk), now=later)
    delivery_record(
        claim=claim, verdict=Verdict.retry(), status_code=503, now=later, **record
    )
    endpoint.refresh_from_db()
    third.refresh_from_db()
    assert endpoint.enabled
    assert endpoint.failing_since == later
    assert third.state == "pending"


def test_private_address_at_send_time_is_abandoned(partner, setup, receiver, settings):
    delivery = emit(partner).deliveries.get()
    settings.JOPAY_WEBHOOK_ALLOW_PRIVATE_HOSTS = False  # production: 127.0.0.1 refused
    assert _send(delivery) is None
    delivery.refresh_from_db()
    assert delivery.state == "abandoned"
    assert delivery.abandoned_reason == "unsafe_url"
    assert receiver.received() == []


def test_disabled_endpoint_at_send_time_abandons(partner, setup, receiver):
    endpoint, _ = setup
    delivery = emit(partner).deliveries.get()
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(enabled=False)
    assert _send(delivery) is None
    delivery.refresh_from_db()
    assert delivery.abandoned_reason == "endpoint_disabled"
    assert receiver.received() == []


def test_worker_lost_mid_send_leaves_its_attempt_and_the_lease_expires(
    partner, setup, receiver
):
    from webhooks.services.outbox import INTERRUPTED, delivery_claim

    delivery = emit(partner).deliveries.get()
    claim = delivery_claim(delivery_id=str(delivery.pk))  # ...and the worker dies
    assert claim.attempt == 1
    assert _send(delivery) is None
    assert due_delivery_ids() == []
    # Time travel past the lease and the re-enqueue guard.
    past = timezone.now() - timedelta(minutes=2)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        locked_until=past, enqueued_at=past
    )
    assert due_delivery_ids() == [str(delivery.pk)]
    assert due_delivery_ids() == []  # marked: one enqueue per sweep window
    assert _send(delivery).state == "delivered"
    log = list(delivery.attempt_log.values_list("number", "status_code", "error"))
    assert log == [(1, None, INTERRUPTED), (2, 200, "")]
    assert receiver.received()[0].headers["x-jopay-delivery-attempt"] == "2"


def test_sweeper_skips_fresh_tasks_and_picks_up_long_retries(partner, setup):
    fresh = emit(partner).deliveries.get()  # its task is on the broker already
    assert due_delivery_ids() == []
    long_retry = emit(partner).deliveries.get()
    WebhookDelivery.objects.filter(pk=long_retry.pk).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1),
        enqueued_at=timezone.now() - timedelta(hours=2),
    )
    future = emit(partner).deliveries.get()
    WebhookDelivery.objects.filter(pk=future.pk).update(
        next_attempt_at=timezone.now() + timedelta(hours=1), enqueued_at=None
    )
    assert due_delivery_ids() == [str(long_retry.pk)]
    assert fresh.pk != long_retry.pk


def test_purge_drops_old_events_and_old_delivery_logs(partner, setup, receiver):
    old = emit(partner)
    delivery = old.deliveries.get()
    _send(delivery)
    recent = emit(partner)
    type(old).objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(days=31)
    )
    counts = events_purge()
    assert counts["events"] == 1
    assert not type(old).objects.filter(pk=old.pk).exists()
    assert type(old).objects.filter(pk=recent.pk).exists()
    delivery.refresh_from_db()  # the delivery log outlives its event (90 days)
    assert delivery.event_id is None
    assert delivery.attempt_log.count() == 1
    long_ago = timezone.now() - timedelta(days=91)  # made and last active then
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        created_at=long_ago, updated_at=long_ago
    )
    counts = events_purge()
    assert counts["deliveries"] == 1
    assert counts["attempts"] == 1
    assert not WebhookDelivery.objects.filter(pk=delivery.pk).exists()


def test_a_purged_events_pending_delivery_is_abandoned(partner, setup, receiver):
    event = emit(partner)
    delivery = event.deliveries.get()
    event.delete()
    assert _send(delivery) is None
    delivery.refresh_from_db()
    assert delivery.abandoned_reason == "event_purged"
    assert receiver.received() == []


def test_retry_jitter_differs_between_forked_worker_processes(settings):
    # Celery's prefork children are forks of one parent: a generator seeded
    # there gave every child the same sequence (all four retries at x0.959).
    import multiprocessing

    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    children = [ctx.Process(target=_first_retry_delay, args=(queue,)) for _ in range(4)]
    for child in children:
        child.start()
    delays = [queue.get(timeout=30) for _ in children]
    for child in children:
        child.join()
    assert len(set(delays)) > 1


def _first_retry_delay(queue) -> None:
    from webhooks.services.outbox import retry_delay

    queue.put(retry_delay(attempt=1, retry_after=None))


def test_a_receivers_cookie_never_rides_on_another_delivery(
    partner, other_partner, receiver, endpoint_for, monkeypatch
):
    # Two partners behind one receiving host (a shared webhook relay, a
    # PaaS domain). The worker's pooled session kept every Set-Cookie in its
    # jar and sent it with the next deliveries to that host: one partner's
    # receiver put state into another partner's requests, and a receiver
    # setting many cookies grew the worker's memory and every later
    # request's Cookie header (D24 deliveries carry only the D25 headers).
    from webhooks import transport

    monkeypatch.setattr(transport, "_session", None)
    endpoint_for(partner, path="/a")
    endpoint_for(other_partner, path="/b")
    receiver.program(
        "/a", Answer(200, headers={"Set-Cookie": "relay_session=partner-a; Path=/"})
    )
    assert _send(emit(partner).deliveries.get()).state == "delivered"
    assert _send(emit(other_partner).deliveries.get()).state == "delivered"
    assert _send(emit(partner).deliveries.get()).state == "delivered"

    assert [r.headers.get("cookie") for r in receiver.received()] == [None] * 3


def test_a_quiet_gap_restarts_the_streak_before_the_5_days_are_reached(
    partner, setup, receiver, settings
):
    """events.md: "after 25 hours with no failed attempt at all, the next
    failure starts a new streak". One 404 four days ago, then silence for
    two days: the streak restarts at the next failure, so an outage that
    started two days ago is not switched off after only three days (D24)."""
    settings.JOPAY_WEBHOOK_RETRY_SCHEDULE = [0] * 5
    endpoint, _ = setup
    receiver.program("/hook", Answer(404), Answer(503), Answer(503))
    old = emit(partner).deliveries.get()
    _send(old)
    four_days_ago = timezone.now() - timedelta(days=4)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=four_days_ago)
    WebhookAttempt.objects.filter(delivery=old).update(started_at=four_days_ago)

    # Two days later (after 2 quiet days) the outage begins: a new streak.
    outage = emit(partner).deliveries.get()
    assert _send(outage).state == "pending"
    endpoint.refresh_from_db()
    assert endpoint.failing_since > timezone.now() - timedelta(minutes=1)

    # A day later (5 days after the 404) the outage goes on: one day of
    # failures is not 5 days, so the endpoint stays on.
    a_day = timedelta(days=1, seconds=1)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        failing_since=F("failing_since") - a_day
    )
    WebhookAttempt.objects.filter(delivery__endpoint=endpoint).update(
        started_at=F("started_at") - a_day
    )
    WebhookDelivery.objects.filter(pk=outage.pk).update(next_attempt_at=timezone.now())
    assert _send(outage).state == "pending"
    endpoint.refresh_from_db()
    assert endpoint.enabled
