"""End to end with a real Celery worker process and the real HTTPS receiver (D24).

Rows are committed (``transaction=True``) so the worker, a separate process
on the same test database, sees them. The worker runs a 1 s retry schedule.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from standardwebhooks import Webhook

from webhooks import signing
from webhooks.models import WebhookAttempt, WebhookDelivery
from webhooks.services.outbox import INTERRUPTED
from webhooks.tasks import send_due_deliveries_task, webhook_delivery_send_task

from .conftest import Answer, emit

pytestmark = pytest.mark.django_db(transaction=True)


def wait_state(delivery, state: str, timeout: float = 20) -> WebhookDelivery:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        delivery.refresh_from_db()
        if delivery.state == state:
            return delivery
        time.sleep(0.1)
    raise AssertionError(f"{delivery.pk} is {delivery.state}, wanted {state}")


@pytest.fixture
def alice(celery_worker, partner, endpoint_for):
    _, secret = endpoint_for(partner)
    return partner, secret


def test_500_is_retried_by_the_worker_with_the_same_delivery_id(
    alice, celery_worker, receiver
):
    partner, secret = alice
    receiver.program("/hook", Answer(500), Answer(200))
    worker = celery_worker()
    delivery = emit(partner).deliveries.get()
    wait_state(delivery, "delivered")
    first, second = receiver.received("/hook")
    for got in (first, second):
        assert got.headers["webhook-id"] == str(delivery.pk)
        assert json.loads(got.body)["delivery_id"] == str(delivery.pk)
        Webhook(signing.standard_secret(secret)).verify(got.body, got.headers)
        assert signing.verify_jopay(
            got.headers["x-jopay-signature"], got.body, secret, now=int(time.time())
        )
    assert first.headers["x-jopay-delivery-attempt"] == "1"
    assert second.headers["x-jopay-delivery-attempt"] == "2"
    assert 0.8 <= second.at - first.at < 5  # the 1 s schedule, ±10 % jitter
    # A task that runs again (redelivery, sweeper) never re-sends.
    webhook_delivery_send_task.delay(str(delivery.pk))
    webhook_delivery_send_task.delay(str(delivery.pk))
    deadline = time.monotonic() + 10
    while worker.log.read_text().count("'skipped'") < 2:
        assert time.monotonic() < deadline, worker.log.read_text()[-2000:]
        time.sleep(0.1)
    assert len(receiver.received("/hook")) == 2


def test_400_is_abandoned_after_one_try(alice, celery_worker, receiver):
    partner, _ = alice
    receiver.program("/hook", Answer(400))
    celery_worker()
    delivery = emit(partner).deliveries.get()
    wait_state(delivery, "abandoned")
    assert delivery.attempts == 1
    assert delivery.abandoned_reason == "client_error"
    assert len(receiver.received()) == 1


def test_410_disables_the_endpoint(alice, celery_worker, receiver):
    partner, _ = alice
    receiver.program("/hook", Answer(410))
    celery_worker()
    delivery = emit(partner).deliveries.get()
    wait_state(delivery, "abandoned")
    partner.webhook_endpoint.refresh_from_db()
    assert partner.webhook_endpoint.enabled is False
    assert partner.webhook_endpoint.disabled_reason == "endpoint_gone"


def test_worker_killed_mid_delivery_is_rescued_with_the_same_delivery_id(
    alice, celery_worker, receiver
):
    partner, _ = alice
    receiver.program("/hook", Answer(200, delay=3), Answer(200))
    first_worker = celery_worker()
    delivery = emit(partner).deliveries.get()
    receiver.wait_for(1)
    first_worker.kill()  # SIGKILL while the receiver is still answering
    delivery.refresh_from_db()
    assert delivery.state == "pending"
    assert delivery.locked_until > timezone.now()  # the dead worker's lease
    # Time travel past the lease (60 s) and the sweeper's re-enqueue guard.
    past = timezone.now() - timedelta(minutes=2)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        locked_until=past, enqueued_at=past
    )
    celery_worker()
    assert send_due_deliveries_task() == 1  # what beat runs every 15 s
    wait_state(delivery, "delivered")
    got = receiver.wait_for(2)
    assert {r.headers["webhook-id"] for r in got} == {str(delivery.pk)}
    assert [r.headers["x-jopay-delivery-attempt"] for r in got] == ["1", "2"]
    log = list(delivery.attempt_log.values_list("number", "status_code", "error"))
    assert log == [(1, None, INTERRUPTED), (2, 200, "")]


def test_receiver_down_then_up_gets_everything(alice, celery_worker, receiver):
    partner, _ = alice
    receiver.stop()
    celery_worker()
    deliveries = [emit(partner).deliveries.get() for _ in range(3)]
    deadline = time.monotonic() + 10
    # Until each first attempt has its result, not only its claim: the claim
    # counts the attempt before the send, so a receiver started right after
    # it could still take the first POST (a race seen on a loaded machine).
    while WebhookAttempt.objects.filter(
        delivery__in=deliveries, number=1, error="connection error"
    ).count() < len(deliveries):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    receiver.start()
    for delivery in deliveries:
        wait_state(delivery, "delivered")
        errors = list(delivery.attempt_log.values_list("error", flat=True))
        assert errors[0] == "connection error"
        assert errors[-1] == ""
    got = receiver.received("/hook")
    assert {r.headers["webhook-id"] for r in got} == {str(d.pk) for d in deliveries}
