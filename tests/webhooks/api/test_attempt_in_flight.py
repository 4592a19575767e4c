"""An attempt still being sent is shown as such, not as a worker that died (D24).

The claim writes the attempt's log row before the POST (``claims``), with the
error "no result recorded (worker stopped mid-send)" until the result comes.
The events API and the portal showed that text for every attempt in flight:
a partner watching a receiver that takes 7 s to answer saw each of its
deliveries blamed on a crashed JoPay worker. Only once the attempt's lease
has run out without a result is that what happened.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.factories import PartnerUserFactory
from tests.portal.conftest import logged_in
from webhooks.models import WebhookDelivery
from webhooks.services import webhook_endpoint_set
from webhooks.services.claims import INTERRUPTED
from webhooks.services.outbox import delivery_claim

from ..conftest import emit


@pytest.fixture
def in_flight(partner, receiver):
    """A delivery whose first attempt is claimed and not answered yet."""
    webhook_endpoint_set(partner=partner, url=receiver.url(), enabled=True)
    delivery = emit(partner).deliveries.get()
    assert delivery_claim(delivery_id=str(delivery.pk)) is not None
    return delivery


def _attempt(api) -> dict:
    (item,) = api.get("/api/v1/events").json()["data"]
    (attempt,) = item["deliveries"][0]["attempt_log"]
    return attempt


def test_the_api_shows_an_attempt_in_flight_without_a_result(api, in_flight):
    attempt = _attempt(api)

    assert attempt["number"] == 1
    assert (attempt["status_code"], attempt["latency_ms"], attempt["error"]) == (
        None,
        None,
        None,
    )


def test_the_api_says_interrupted_once_the_lease_ran_out(api, in_flight):
    WebhookDelivery.objects.filter(pk=in_flight.pk).update(
        locked_until=timezone.now() - timedelta(seconds=1)
    )

    assert _attempt(api)["error"] == INTERRUPTED


def test_the_portal_shows_an_attempt_in_flight_as_being_sent(partner, in_flight):
    user = PartnerUserFactory(partner=partner)
    page = logged_in(user).get("/portal/webhooks/").content.decode()

    assert "worker stopped" not in page
    assert "sending now" in page
