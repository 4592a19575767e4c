"""A partner who fixes a broken webhook URL gets the backlog at once (D24).

Ten failed tries at a dead URL leave a delivery waiting about 15 h for its
next one. The new URL's first attempt must not wait for that, nor for a
sweeper tick: the URL change makes the backlog due and puts it on the broker
when it commits. End to end: the API, a real worker, the real TLS receiver;
no beat runs here.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from jopay_project.celery import app
from webhooks.delivery import deliver

from .conftest import Answer, emit, make_due
from .test_worker import wait_state

pytestmark = pytest.mark.django_db(transaction=True)
ENDPOINT = "/api/v1/webhooks/endpoint"


def _put(api, body):
    answer = api.put(ENDPOINT, body, format="json")
    assert answer.status_code == 200, answer.content
    return answer


def _ten_failures(partner, receiver, api, count: int):
    receiver.program("/broken", Answer(503))
    _put(api, {"url": receiver.url("/broken"), "enabled": True})
    backlog = [emit(partner).deliveries.get() for _ in range(count)]
    for delivery in backlog:
        for _ in range(10):
            make_due(delivery)
            assert deliver(delivery_id=str(delivery.pk)).state == "pending"
        delivery.refresh_from_db()
        assert delivery.attempts == 10
        # The wait before try 11 is 15 h, ±10 %.
        assert delivery.next_attempt_at > timezone.now() + timedelta(hours=13)
    return backlog


def test_fixing_the_url_sends_the_backlog_now_not_after_its_15_h_wait(
    api, partner, receiver, celery_worker
):
    backlog = _ten_failures(partner, receiver, api, count=3)
    app.control.purge()  # nothing queued by earlier tests may send it instead
    celery_worker()

    _put(api, {"url": receiver.url("/fixed")})

    got = receiver.wait_for(3, "/fixed", timeout=10)
    assert {r.headers["webhook-id"] for r in got} == {str(d.pk) for d in backlog}
    # D24: same delivery_id, and the tries carry on (counting is unchanged).
    assert {r.headers["x-jopay-delivery-attempt"] for r in got} == {"11"}
    for delivery in backlog:
        wait_state(delivery, "delivered", timeout=10)
