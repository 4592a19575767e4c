"""The operator's log: one line per attempt that did not deliver, and one when
an endpoint is switched off (docs/OPERATIONS.md), naming the endpoint by id,
never its URL (a partner's URL may carry a token)."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from webhooks.delivery import deliver
from webhooks.models import WebhookEndpoint

from .conftest import Answer, emit

pytestmark = pytest.mark.django_db


@pytest.fixture
def endpoint(partner, endpoint_for):
    return endpoint_for(partner)[0]


def lines(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "jopay.webhooks"]


def test_a_retried_attempt_is_logged_without_its_url(
    partner, endpoint, receiver, caplog, settings
):
    settings.JOPAY_WEBHOOK_RETRY_SCHEDULE = [60]
    receiver.program("/hook", Answer(503))
    delivery = emit(partner).deliveries.get()
    with caplog.at_level(logging.WARNING, logger="jopay.webhooks"):
        deliver(delivery_id=str(delivery.pk))
    (line,) = lines(caplog)
    assert line.startswith(
        f"webhook delivery {delivery.pk} attempt 1 to endpoint {endpoint.pk}:"
        " HTTP 503; retry in "
    )
    assert "/hook" not in line
    assert "127.0.0.1" not in line


def test_an_abandoned_attempt_and_a_410_switch_off_are_logged(
    partner, endpoint, receiver, caplog, django_capture_on_commit_callbacks
):
    receiver.program("/hook", Answer(410))
    delivery = emit(partner).deliveries.get()
    emit(partner)  # a second one, abandoned by the switch-off
    with (
        caplog.at_level(logging.WARNING, logger="jopay.webhooks"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        deliver(delivery_id=str(delivery.pk))
    assert lines(caplog) == [
        f"webhook delivery {delivery.pk} attempt 1 to endpoint {endpoint.pk}:"
        " HTTP 410; abandoned: endpoint_gone",
        f"webhook endpoint {endpoint.pk} (partner {partner.pk}) switched off:"
        " endpoint_gone; 1 pending deliveries abandoned",
    ]


def test_a_delivered_attempt_logs_nothing(partner, endpoint, receiver, caplog):
    receiver.program("/hook", Answer(204))
    delivery = emit(partner).deliveries.get()
    with caplog.at_level(logging.WARNING, logger="jopay.webhooks"):
        assert deliver(delivery_id=str(delivery.pk)).state == "delivered"
    assert lines(caplog) == []


def test_the_last_try_says_it_failed(partner, endpoint, receiver, caplog, settings):
    settings.JOPAY_WEBHOOK_RETRY_SCHEDULE = []
    receiver.program("/hook", Answer(500))
    delivery = emit(partner).deliveries.get()
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        failing_since=timezone.now() - timedelta(minutes=1)
    )
    with caplog.at_level(logging.WARNING, logger="jopay.webhooks"):
        deliver(delivery_id=str(delivery.pk))
    assert lines(caplog)[-1].endswith("HTTP 500; failed: no tries left")


def test_a_failure_that_switches_the_endpoint_off_says_abandoned_not_retry(
    partner, endpoint, receiver, caplog, settings, django_capture_on_commit_callbacks
):
    """D24: 5 days without a 2xx switch the endpoint off and abandon what is
    pending, this delivery too; its line promised a retry that never came."""
    settings.JOPAY_WEBHOOK_DISABLE_AFTER_SECONDS = 3600
    receiver.program("/hook", Answer(503))
    earlier = emit(partner).deliveries.get()
    deliver(delivery_id=str(earlier.pk))  # a failure within the streak's gap
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        failing_since=timezone.now() - timedelta(hours=2), probe_until=None
    )
    delivery = emit(partner).deliveries.get()
    caplog.clear()
    with (
        caplog.at_level(logging.WARNING, logger="jopay.webhooks"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        recorded = deliver(delivery_id=str(delivery.pk))
    assert lines(caplog) == [
        f"webhook delivery {delivery.pk} attempt 1 to endpoint {endpoint.pk}:"
        " HTTP 503; abandoned: endpoint_disabled",
        f"webhook endpoint {endpoint.pk} (partner {partner.pk}) switched off:"
        " failing_too_long; 2 pending deliveries abandoned",
    ]
    assert (recorded.state, recorded.countdown) == ("abandoned", None)
    delivery.refresh_from_db()
    assert (delivery.state, delivery.abandoned_reason) == (
        "abandoned",
        "endpoint_disabled",
    )
