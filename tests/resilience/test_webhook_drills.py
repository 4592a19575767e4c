"""Failure drills for webhook delivery (D24): worker SIGKILLs, a Redis restart,
a receiver down for ten minutes. Every event is delivered, none is lost, and a
duplicate only ever carries the same ``delivery_id``.

The events come from real state changes (payment requests created and
cancelled through the payments services, so ``request.cancelled`` is written
in the cancel's transaction), are delivered by real Celery worker processes to
the webhook suite's real HTTPS receiver. What beat does every 15 s
(``webhooks.send_due_deliveries``) the test calls itself. Waiting out the 60 s
lease of a killed worker is simulated by ageing the rows' clocks (the same time
travel the webhook suite uses); the ten-minute outage runs on D24's retry
schedule scaled 1:60 (``JOPAY_WEBHOOK_RETRY_SCHEDULE``).
"""

from __future__ import annotations

import json
import time
from collections import defaultdict
from datetime import timedelta

import pytest
from django.utils import timezone

from jopay_project.tenancy import Tenant
from payments.services.closing import payment_request_cancel
from payments.services.requests import PaymentRequestDraft, payment_request_create
from webhooks.models import WebhookDelivery
from webhooks.tasks import send_due_deliveries_task

from .conftest import Answer

pytestmark = pytest.mark.live

# D24's schedule (1 min, 5 min, 30 min, 2 h, ...) in seconds, divided by 60.
SCALED_D24_SCHEDULE = "1,5,30,120,300,600,720,720,900,900"


def cancel_requests(partner, merchant, count: int, *, start: int = 0) -> list[str]:
    """Create and cancel ``count`` requests; each writes one request.cancelled."""
    tenant = Tenant(partner=partner, test_mode=False)
    ids = []
    for n in range(start, start + count):
        draft = PaymentRequestDraft(
            merchant=merchant, fiat_int=1000 + n, fiat_code="EUR"
        )
        request, _ = payment_request_create(tenant=tenant, draft=draft)
        payment_request_cancel(tenant=tenant, request_id=request.pk)
        ids.append(str(request.pk))
    return ids


def age_the_clock(**filters) -> None:
    """Simulated clock: leases and enqueue marks of pending rows are 2 min old."""
    past = timezone.now() - timedelta(minutes=2)
    WebhookDelivery.objects.filter(state="pending", **filters).update(
        locked_until=None, enqueued_at=past
    )


def wait_all_delivered(request_ids: list[str], *, timeout: float, sweep=None):
    """Poll until every event's delivery is ``delivered``; ``sweep`` runs every
    2 s meanwhile (what beat would do, more often)."""
    deadline = time.monotonic() + timeout
    last_sweep = 0.0
    while True:
        states = dict(
            WebhookDelivery.objects.filter(
                event__request_id__in=request_ids
            ).values_list("event__request_id", "state")
        )
        if len(states) == len(request_ids) and set(states.values()) == {"delivered"}:
            return
        assert time.monotonic() < deadline, sorted(states.values())
        if sweep and time.monotonic() - last_sweep > 2:
            sweep()
            last_sweep = time.monotonic()
        time.sleep(0.2)


def assert_each_event_arrived_under_one_delivery_id(receiver, request_ids) -> int:
    """None lost; duplicates only with the same delivery_id. Returns duplicates."""
    ids_by_request: dict[str, set[str]] = defaultdict(set)
    arrivals = receiver.received("/hook")
    for got in arrivals:
        body = json.loads(got.body)
        assert body["delivery_id"] == got.headers["webhook-id"]
        assert body["event"] == "request.cancelled"
        ids_by_request[body["request_id"]].add(body["delivery_id"])
    expected = {
        str(request_id): {str(pk)}
        for request_id, pk in WebhookDelivery.objects.filter(
            event__request_id__in=request_ids
        ).values_list("event__request_id", "pk")
    }
    assert len(expected) == len(request_ids)
    assert dict(ids_by_request) == expected
    return len(arrivals) - len(request_ids)


@pytest.fixture
def hooked(live_partner, live_merchant, endpoint_for):
    endpoint_for(live_partner)
    return live_partner, live_merchant


def test_worker_sigkilled_three_times_during_deliveries_loses_nothing(
    hooked, receiver, start_worker
):
    partner, merchant = hooked
    # A slow receiver, so every kill lands while sends are in flight.
    receiver.program("/hook", Answer(200, delay=0.4))
    worker = start_worker()
    request_ids = cancel_requests(partner, merchant, 30)
    for _ in range(3):
        receiver.wait_for(len(receiver.received("/hook")) + 2, timeout=30)
        worker.kill()  # SIGKILL mid-send: no ack, no cleanup
        # Only now, with no worker alive, may the dead worker's leases lapse.
        age_the_clock(event__request_id__in=request_ids)
        send_due_deliveries_task()  # beat's sweeper
        worker = start_worker()
    receiver.program("/hook", Answer(200))
    wait_all_delivered(request_ids, timeout=120)
    duplicates = assert_each_event_arrived_under_one_delivery_id(receiver, request_ids)
    # A kill can cost at most the sends in flight, re-sent under the same id.
    assert duplicates <= 3


def test_redis_restart_loses_no_event(hooked, receiver, start_worker, throwaway_redis):
    partner, merchant = hooked
    receiver.program("/hook", Answer(200, delay=0.3))
    start_worker(REDIS_URL=throwaway_redis.url)
    before = cancel_requests(partner, merchant, 10)
    receiver.wait_for(2, timeout=30)
    # Redis dies with queued tasks in it; the worker loses its broker mid-stream.
    throwaway_redis.kill()
    # State changes go on while the broker is down: the cancels commit, their
    # enqueue fails quietly (robust on_commit), the outbox rows stay pending.
    started = time.monotonic()
    during = cancel_requests(partner, merchant, 5, start=10)
    assert time.monotonic() - started < 60
    throwaway_redis.start()  # empty: every queued task is gone
    after = cancel_requests(partner, merchant, 5, start=15)
    receiver.program("/hook", Answer(200))
    request_ids = before + during + after

    def sweep() -> None:
        # The worker may still hold leases of live sends: age only the
        # enqueue marks, as 60 s of waiting would.
        WebhookDelivery.objects.filter(
            state="pending", event__request_id__in=request_ids
        ).update(enqueued_at=timezone.now() - timedelta(minutes=2))
        send_due_deliveries_task()

    wait_all_delivered(request_ids, timeout=120, sweep=sweep)
    assert_each_event_arrived_under_one_delivery_id(receiver, request_ids)


def test_receiver_down_for_ten_minutes_gets_every_event(hooked, receiver, start_worker):
    """Ten minutes down on D24's schedule scaled 1:60: 10 s down, tries after
    1 s, 5 s, 30 s. Every event arrives once the receiver is back."""
    partner, merchant = hooked
    start_worker(JOPAY_WEBHOOK_RETRY_SCHEDULE=SCALED_D24_SCHEDULE)
    receiver.stop()
    down_at = time.monotonic()
    request_ids = cancel_requests(partner, merchant, 20)
    while time.monotonic() - down_at < 10:  # "ten minutes"
        send_due_deliveries_task()
        time.sleep(1)
    failed_tries = WebhookDelivery.objects.filter(
        event__request_id__in=request_ids, attempts__gte=2
    ).count()
    assert failed_tries == 20  # every event was tried and retried while down
    receiver.start()

    def beat() -> None:
        send_due_deliveries_task()

    # The 30 s try (±10 % jitter) is the first after the outage.
    wait_all_delivered(request_ids, timeout=90, sweep=beat)
    duplicates = assert_each_event_arrived_under_one_delivery_id(receiver, request_ids)
    assert duplicates == 0
    assert not WebhookDelivery.objects.filter(
        state__in=["failed", "abandoned"]
    ).exists()
