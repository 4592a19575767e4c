"""One attempt at a time to a failing endpoint (``webhooks.services.claims``).

A receiver that hangs for the whole timeout must hold one worker, not the
pool: the other partners' webhooks keep moving. The D24 schedule and the
try count are unchanged; only when a held delivery is sent changes.
"""

from __future__ import annotations

import itertools
import threading
import time

import pytest
from django.db import connection, transaction
from django.utils import timezone

from merchants.models import Partner
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.services.outbox import (
    delivery_claim,
    due_delivery_ids,
    endpoint_next_ids,
)

from .conftest import Answer, emit
from .test_resend_during_attempt import _wait_until_a_query_waits_on_a_lock
from .test_worker import wait_state


def _failing(endpoint) -> None:
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=timezone.now())


@pytest.mark.django_db(transaction=True)
def test_two_claims_racing_for_a_failing_endpoint_get_one_attempt(
    partner, endpoint_for
):
    """The second claim waits on the endpoint's row, then sees the lease taken."""
    endpoint, _ = endpoint_for(partner)
    first, second = emit(partner).deliveries.get(), emit(partner).deliveries.get()
    _failing(endpoint)
    holding, go, got = threading.Event(), threading.Event(), {}

    def hold():
        try:
            with transaction.atomic():
                got["first"] = delivery_claim(delivery_id=str(first.pk))
                holding.set()
                go.wait(10)
        finally:
            connection.close()

    def claim():
        try:
            got["second"] = delivery_claim(delivery_id=str(second.pk))
        finally:
            connection.close()

    holder = threading.Thread(target=hold)
    holder.start()
    assert holding.wait(10)
    claimer = threading.Thread(target=claim)
    claimer.start()
    _wait_until_a_query_waits_on_a_lock()  # the second claim, on the endpoint
    go.set()
    holder.join(10)
    claimer.join(10)
    assert got["first"] is not None
    assert got["second"] is None
    second.refresh_from_db()
    assert (second.attempts, second.locked_until) == (0, None)


@pytest.mark.django_db
def test_the_sweeper_offers_a_failing_endpoint_one_row_at_a_time(
    partner, endpoint_for, receiver
):
    endpoint, _ = endpoint_for(partner)
    rows = [emit(partner).deliveries.get() for _ in range(3)]
    other = Partner.objects.create(name="Bob", slug="bob-pay")
    endpoint_for(other, "/other")
    healthy = [emit(other).deliveries.get() for _ in range(2)]
    # Their tasks were enqueued at emit; the sweeper rescues lost ones later.
    WebhookDelivery.objects.update(enqueued_at=None)
    _failing(endpoint)
    picked = set(due_delivery_ids())
    assert picked == {str(rows[0].pk)} | {str(d.pk) for d in healthy}
    # While that one attempt is in flight, none of the rest is offered.
    WebhookDelivery.objects.filter(pk__in=[d.pk for d in rows]).update(enqueued_at=None)
    assert delivery_claim(delivery_id=str(rows[0].pk)) is not None
    assert due_delivery_ids() == []


@pytest.mark.django_db
def test_the_attempt_hands_a_failing_endpoint_on_to_its_next_row(
    partner, endpoint_for, receiver
):
    endpoint, _ = endpoint_for(partner)
    rows = [emit(partner).deliveries.get() for _ in range(3)]
    _failing(endpoint)
    claim = delivery_claim(delivery_id=str(rows[0].pk))
    assert endpoint_next_ids(endpoint_id=endpoint.pk) == []  # still in flight
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(probe_until=None)
    # Still failing: the next row only, even though its own task ran already.
    assert endpoint_next_ids(endpoint_id=endpoint.pk) == [str(rows[1].pk)]
    # Healthy again (a 2xx ended the streak): every due row.
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=None)
    assert set(endpoint_next_ids(endpoint_id=endpoint.pk)) == {
        str(rows[1].pk),
        str(rows[2].pk),
    }
    assert claim.attempt == 1
    # A disabled endpoint is handed on to nothing.
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(enabled=False)
    assert endpoint_next_ids(endpoint_id=endpoint.pk) == []


@pytest.mark.django_db(transaction=True)
def test_a_hanging_receiver_holds_one_worker_and_the_others_keep_delivering(
    partner, endpoint_for, receiver, celery_worker
):
    """Two worker processes; partner A's receiver takes 1.5 s to answer 503
    and its backlog is queued first. A never has two attempts in flight, and
    partner B's webhooks are delivered while A's backlog waits."""
    slow, _ = endpoint_for(partner, "/slow")
    receiver.program("/slow", Answer(503, delay=1.5))
    other = Partner.objects.create(name="Bob", slug="bob-pay")
    endpoint_for(other, "/fast")
    _failing(slow)
    celery_worker()
    celery_worker()
    started = time.monotonic()
    backlog = [emit(partner).deliveries.get() for _ in range(6)]
    fast = [emit(other).deliveries.get() for _ in range(3)]
    for delivery in fast:
        wait_state(delivery, "delivered", timeout=20)
    took = time.monotonic() - started
    # Without the lease both workers spend 1.5 s on each of A's six first
    # (about 4.5 s) before B's turn.
    assert took < 3.5, took
    # The backlog moves on without the sweeper (none runs here): each attempt
    # hands A on to its next due row, whose own task found the lease taken.
    got = receiver.wait_for(4, "/slow", timeout=20)
    sent = {r.headers["webhook-id"] for r in got}
    assert len(sent & {str(d.pk) for d in backlog}) >= 3, sent
    gaps = [b.at - a.at for a, b in itertools.pairwise(got)]
    assert min(gaps) >= 1.4, gaps  # each waited for the one before it to answer
