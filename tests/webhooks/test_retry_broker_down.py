"""A webhook attempt whose result is saved finishes although the broker is down (D24).

The short retry (a broker countdown) and the hand-on of a failing endpoint
were published straight after the attempt's result was written, and a refused
connection raised out of the task: a failed task with a traceback for work the
sweeper (``webhooks.send_due_deliveries``) finds anyway. The broker here is a
real Redis URL on a port nothing listens on; the receiver is real TLS.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from webhooks.delivery import deliver
from webhooks.models import WebhookDelivery
from webhooks.services.outbox import due_delivery_ids
from webhooks.tasks import send_due_deliveries_task, webhook_delivery_send_task

from .conftest import Answer, emit

pytestmark = pytest.mark.django_db(transaction=True)


def _broker_lines(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if "broker unavailable" in r.getMessage()]


def test_a_retry_not_published_is_left_to_the_sweeper(
    partner, endpoint_for, receiver, settings, cut_broker, caplog
):
    settings.JOPAY_WEBHOOK_RETRY_SCHEDULE = [5, 60]  # 5 s: a broker countdown
    endpoint_for(partner)
    receiver.program("/hook", Answer(500))
    delivery = emit(partner).deliveries.get()
    cut_broker()

    with caplog.at_level(logging.WARNING, logger="jopay.tasks"):
        assert webhook_delivery_send_task(str(delivery.pk)) == "pending"

    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == ("pending", 1)
    assert len(receiver.received("/hook")) == 1
    assert [r.levelno for r in _broker_lines(caplog)] == [logging.ERROR]
    # The sweeper sends it once its task is overdue (D24).
    later = delivery.next_attempt_at + timedelta(seconds=61)
    assert str(delivery.pk) in due_delivery_ids(now=later)


def test_a_hand_on_not_published_is_left_to_the_sweeper(
    partner, endpoint_for, receiver, settings, cut_broker, caplog
):
    # Retries past the broker's countdown cap: the hand-on is the only publish.
    settings.JOPAY_WEBHOOK_RETRY_SCHEDULE = [600, 1200]
    endpoint_for(partner)
    receiver.program("/hook", Answer(500))
    first, second, third = (emit(partner).deliveries.get() for _ in range(3))
    assert deliver(delivery_id=str(first.pk)).state == "pending"  # now failing
    cut_broker()

    with caplog.at_level(logging.WARNING, logger="jopay.tasks"):
        # One attempt at a time to a failing endpoint: this one holds it, and
        # hands the endpoint on to the next due row when it ends.
        assert webhook_delivery_send_task(str(second.pk)) == "pending"

    second.refresh_from_db()
    assert (second.state, second.attempts) == ("pending", 1)
    lines = _broker_lines(caplog)
    assert [r.levelno for r in lines] == [logging.ERROR]
    assert str(third.pk) in lines[0].getMessage()
    # The sweeper offers the failing endpoint's next due row (D24).
    later = timezone.now() + timedelta(seconds=61)
    assert due_delivery_ids(now=later) == [str(third.pk)]


def test_a_sweep_cut_off_from_the_broker_leaves_its_rows_for_the_next_one(
    partner, endpoint_for, receiver, cut_broker, caplog
):
    # The sweeper marks the rows it sends (enqueued_at) before it publishes
    # them: with the broker gone, the first publish raised out of the task
    # and the rest of the batch was not even logged. Now each is logged (the
    # first at ERROR) and the next sweep after 60 s offers them again.
    endpoint_for(partner)
    deliveries = [emit(partner).deliveries.get() for _ in range(2)]
    # Time travel: their tasks were lost over a minute ago.
    WebhookDelivery.objects.filter(pk__in=[d.pk for d in deliveries]).update(
        enqueued_at=timezone.now() - timedelta(seconds=61)
    )
    cut_broker()

    with caplog.at_level(logging.WARNING, logger="jopay.tasks"):
        assert send_due_deliveries_task() == 2

    assert [r.levelno for r in _broker_lines(caplog)] == [
        logging.ERROR,
        logging.WARNING,
    ]
    later = timezone.now() + timedelta(seconds=61)
    assert sorted(due_delivery_ids(now=later)) == sorted(str(d.pk) for d in deliveries)
