"""A receiver's ``Retry-After`` holds the whole endpoint, not one delivery (D24).

Before, only the delivery that got the 429 waited: the endpoint's other due
deliveries went out back to back, each using up one of its tries on the same
"busy" answer. Real TLS receiver, real PostgreSQL.
"""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from webhooks.delivery import deliver
from webhooks.models import WebhookAttempt, WebhookEndpoint
from webhooks.services import webhook_endpoint_set
from webhooks.services.outbox import due_delivery_ids

from .conftest import Answer, emit

pytestmark = pytest.mark.django_db(transaction=True)


def _send(delivery):
    return deliver(delivery_id=str(delivery.pk))


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_holds_the_endpoints_other_due_deliveries(
    partner, endpoint_for, receiver, status
):
    endpoint_for(partner)
    receiver.program("/hook", Answer(status, headers={"Retry-After": "120"}))
    first = emit(partner).deliveries.get()
    second = emit(partner).deliveries.get()
    assert _send(first).state == "pending"

    # Held: not sent, its tries untouched, and not offered by the sweeper (which
    # re-offers a row whose task found nothing to do after 60 s) until it ends.
    assert _send(second) is None
    second.refresh_from_db()
    assert (second.state, second.attempts) == ("pending", 0)
    assert len(receiver.received("/hook")) == 1
    now = timezone.now()
    assert str(second.pk) not in due_delivery_ids(now=now + timedelta(seconds=61))
    assert str(second.pk) in due_delivery_ids(now=now + timedelta(seconds=125))


def test_once_the_hold_ends_the_endpoint_takes_attempts_again(
    partner, endpoint_for, receiver
):
    endpoint_for(partner)
    receiver.program("/hook", Answer(429, headers={"Retry-After": "2"}))
    first = emit(partner).deliveries.get()
    second = emit(partner).deliveries.get()
    assert _send(first).state == "pending"
    assert _send(second) is None
    receiver.program("/hook", Answer(200))
    time.sleep(2.2)
    assert _send(second).state == "delivered"
    assert len(receiver.received("/hook")) == 2


def test_without_retry_after_the_next_due_delivery_is_sent(
    partner, endpoint_for, receiver
):
    endpoint_for(partner)
    receiver.program("/hook", Answer(429))
    first = emit(partner).deliveries.get()
    second = emit(partner).deliveries.get()
    assert _send(first).state == "pending"
    assert _send(second).state == "pending"  # one attempt at a time, no hold
    assert len(receiver.received("/hook")) == 2


def test_the_hold_is_capped_at_a_day(partner, endpoint_for, receiver):
    endpoint, _ = endpoint_for(partner)
    receiver.program("/hook", Answer(429, headers={"Retry-After": "9" * 30}))
    started = time.time()
    assert _send(emit(partner).deliveries.get()).state == "pending"
    endpoint.refresh_from_db()
    held = endpoint.probe_until.timestamp() - started
    assert 24 * 3600 - 5 <= held <= 24 * 3600 + 5


def test_a_new_url_ends_the_hold(partner, endpoint_for, receiver):
    """The old URL's "come back later" says nothing about the new one."""
    endpoint_for(partner)
    receiver.program("/hook", Answer(429, headers={"Retry-After": "3600"}))
    first = emit(partner).deliveries.get()
    second = emit(partner).deliveries.get()
    assert _send(first).state == "pending"
    assert _send(second) is None

    webhook_endpoint_set(partner=partner, url=receiver.url("/new"))
    assert _send(second).state == "delivered"
    assert _send(first).state == "delivered"  # due now too (the URL change)
    assert len(receiver.received("/new")) == 2


def test_a_2xx_of_an_attempt_in_flight_ends_the_hold(partner, endpoint_for, receiver):
    """An answer that came after the 429 says the receiver takes deliveries."""
    endpoint_for(partner)
    first = emit(partner).deliveries.get()
    second = emit(partner).deliveries.get()
    third = emit(partner).deliveries.get()
    from webhooks.services.outbox import Verdict, delivery_claim, delivery_record

    in_flight = delivery_claim(delivery_id=str(first.pk))  # healthy: no lease
    receiver.program("/hook", Answer(429, headers={"Retry-After": "3600"}))
    assert _send(second).state == "pending"
    assert _send(third) is None  # held
    delivery_record(
        claim=in_flight,
        verdict=Verdict.delivered(),
        status_code=200,
        latency_ms=5,
        error="",
        response_body="",
    )
    assert WebhookEndpoint.objects.get(partner=partner).failing_since is None
    receiver.program("/hook", Answer(200))
    assert _send(third).state == "delivered"


def test_an_endpoint_held_a_day_at_a_time_is_still_disabled_after_5_days(
    partner, endpoint_for, receiver
):
    """D24: no 2xx for 5 days since the first failure disables the endpoint.

    A receiver answering every try with the longest hold (Retry-After capped
    at a day) gets one attempt a day, so its last failure is always just over
    a day old. That silence is JoPay's own wait, not a quiet endpoint with
    nothing to receive, yet the streak was restarted instead of the endpoint
    being switched off, every 5 days, for ever.
    """
    endpoint, _ = endpoint_for(partner)
    receiver.program("/hook", Answer(503, headers={"Retry-After": "9" * 30}))
    first = emit(partner).deliveries.get()
    assert _send(first).state == "pending"
    waited = emit(partner).deliveries.get()  # written during the hold: waits
    assert _send(waited) is None

    # Time travel: the streak began 5 days ago, and the last failure (this
    # hold's) was a day and the sweeper's few seconds ago, when the hold began.
    now = timezone.now()
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        failing_since=now - timedelta(days=5, seconds=1), probe_until=None
    )
    WebhookAttempt.objects.filter(delivery=first).update(
        started_at=now - timedelta(days=1, seconds=20)
    )
    assert _send(waited).state == "abandoned"

    endpoint.refresh_from_db()
    assert (endpoint.enabled, endpoint.disabled_reason) == (False, "failing_too_long")
    first.refresh_from_db()
    assert (first.state, first.abandoned_reason) == ("abandoned", "endpoint_disabled")
