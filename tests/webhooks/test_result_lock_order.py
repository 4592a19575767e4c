"""A failed attempt's result against an endpoint-wide change at the same moment (D24).

An endpoint-wide change (a switch-off by the partner, staff, a 410 or five
days without a 2xx; a URL change) locks the endpoint row, then every pending
delivery of it. A failure's result must take the same order: on a healthy
endpoint it locked its delivery row first and the endpoint row after (to
start the failing streak), so the two transactions waited on each other and
PostgreSQL aborted one. Either the partner's request answered 500, or the
receiver's answer was lost ("worker stopped mid-send") and sent again.
Forced interleavings on two PostgreSQL connections.
"""

from __future__ import annotations

import threading

import pytest
from django.utils import timezone

from tests.locks import db_thread, wait_until_blocked
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from webhooks.services import outbox, webhook_endpoint_set
from webhooks.services.claims import claim as claim_delivery
from webhooks.services.outbox import Verdict, delivery_record

from .conftest import emit

pytestmark = pytest.mark.django_db(transaction=True)
URL = "https://hooks.example.com/jopay"


@pytest.fixture
def healthy(partner, settings):
    settings.JOPAY_WEBHOOK_ALLOW_PRIVATE_HOSTS = True
    WebhookEndpoint.objects.create(
        partner=partner,
        url=URL,
        enabled=True,
        enabled_at=timezone.now(),
        secret="a" * 64,
    )
    return partner


def _record_paused(monkeypatch, claim, verdict, status_code, paused, resume):
    """``delivery_record`` that stops after writing its delivery row, before it
    touches the endpoint (``endpoint_after_attempt``); in this thread only."""
    original = outbox.endpoint_after_attempt

    def after_attempt(**kwargs):
        if threading.current_thread().name == "result":
            paused.set()
            assert resume.wait(20)
        return original(**kwargs)

    monkeypatch.setattr(outbox, "endpoint_after_attempt", after_attempt)

    def record():
        return delivery_record(
            claim=claim,
            verdict=verdict,
            status_code=status_code,
            latency_ms=12,
            error="",
            response_body="busy",
        )

    return record


def _race(record, paused, resume, other, results, pids):
    recorder = db_thread("result", record, results, pids)
    recorder.start()
    assert paused.wait(10)
    changer = db_thread("change", other, results, pids)
    changer.start()
    wait_until_blocked(changer, pids, "change")
    resume.set()
    recorder.join(30)
    changer.join(30)
    assert not recorder.is_alive()
    assert not changer.is_alive()
    for name in ("result", "change"):
        assert not isinstance(results[name], Exception), results


def test_a_failure_recorded_while_the_partner_switches_off_loses_neither(
    healthy, monkeypatch
):
    delivery = emit(healthy).deliveries.get()
    claim = claim_delivery(delivery_id=str(delivery.pk), now=timezone.now())
    paused, resume = threading.Event(), threading.Event()
    results: dict = {}
    record = _record_paused(monkeypatch, claim, Verdict.retry(), 503, paused, resume)

    _race(
        record,
        paused,
        resume,
        lambda: webhook_endpoint_set(partner=healthy, enabled=False),
        results,
        {},
    )

    endpoint = WebhookEndpoint.objects.get(partner=healthy)
    assert not endpoint.enabled
    delivery.refresh_from_db()
    assert delivery.state == WebhookDelivery.State.ABANDONED
    assert delivery.abandoned_reason == "endpoint_disabled"
    # The receiver's answer is in the log, not "worker stopped mid-send".
    attempt = WebhookAttempt.objects.get(delivery=delivery)
    assert (attempt.status_code, attempt.error) == (503, "")


def test_two_410s_at_once_both_keep_their_answer(healthy, monkeypatch):
    first, second = (emit(healthy).deliveries.get() for _ in range(2))
    now = timezone.now()
    claim_1 = claim_delivery(delivery_id=str(first.pk), now=now)
    claim_2 = claim_delivery(delivery_id=str(second.pk), now=now)
    gone = Verdict.abandon(
        WebhookDelivery.AbandonedReason.GONE,
        disable_endpoint=WebhookEndpoint.DisabledReason.GONE,
    )
    paused, resume = threading.Event(), threading.Event()
    results: dict = {}
    record = _record_paused(monkeypatch, claim_2, gone, 410, paused, resume)

    def other_410():
        return delivery_record(
            claim=claim_1,
            verdict=gone,
            status_code=410,
            latency_ms=9,
            error="",
            response_body="gone",
        )

    _race(record, paused, resume, other_410, results, {})

    endpoint = WebhookEndpoint.objects.get(partner=healthy)
    assert not endpoint.enabled
    assert endpoint.disabled_reason == "endpoint_gone"
    for delivery in (first, second):
        delivery.refresh_from_db()
        assert delivery.state == WebhookDelivery.State.ABANDONED
        attempt = WebhookAttempt.objects.get(delivery=delivery)
        assert attempt.status_code == 410
