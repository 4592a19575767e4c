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
    """Two worker processes; partner A's receiver takes 2 s to answer 503
    and its backlog is queued first. A never has two attempts in flight, and
    partner B's webhooks are delivered while A's backlog waits."""
    slow, _ = endpoint_for(partner, "/slow")
    receiver.program("/slow", Answer(503, delay=2.0))
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
    # Without the lease both workers spend 2 s on each of A's six first
    # (about 6 s) before B's turn; with it, one does, once.
    assert took < 4.5, took
    # The backlog moves on without the sweeper (none runs here): each attempt
    # hands A on to its next due row, whose own task found the lease taken.
    got = receiver.wait_for(4, "/slow", timeout=20)
    sent = {r.headers["webhook-id"] for r in got}
    assert len(sent & {str(d.pk) for d in backlog}) >= 3, sent
    gaps = [b.at - a.at for a, b in itertools.pairwise(got)]
    assert min(gaps) >= 1.9, gaps  # each waited for the one before it to answer


def _hold_the_endpoint_change(monkeypatch):
    """Make ``webhook_endpoint_set`` stop inside its transaction, after it has
    locked the endpoint row (at its audit record), until ``go`` is set."""
    from webhooks.services import endpoints

    locked, go = threading.Event(), threading.Event()
    record = endpoints.audit_record

    def held(**kwargs):
        record(**kwargs)
        locked.set()
        go.wait(10)

    monkeypatch.setattr(endpoints, "audit_record", held)
    return locked, go


def _in_threads(first, second, locked, go) -> dict:
    errors: dict = {}

    def run(name, fn):
        try:
            fn()
        except Exception as exc:  # surfaced by the caller's assert
            errors[name] = repr(exc)
        finally:
            connection.close()

    one = threading.Thread(target=run, args=("first", first))
    one.start()
    assert locked.wait(10)
    two = threading.Thread(target=run, args=("second", second))
    two.start()
    _wait_until_a_query_waits_on_a_lock()  # the second, on the endpoint row
    go.set()
    one.join(15)
    two.join(15)
    return errors


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("change", ["disable", "url"])
def test_a_result_beside_an_endpoint_change_does_not_deadlock(
    partner, endpoint_for, receiver, monkeypatch, change
):
    """The result locks the endpoint row before the delivery row, as the claim,
    a disable and a URL change do: the other order deadlocked, and the
    attempt's real answer was lost (D24: every attempt is logged)."""
    from webhooks.models import WebhookAttempt
    from webhooks.services import claims, webhook_endpoint_set

    endpoint, _ = endpoint_for(partner)
    delivery = emit(partner).deliveries.get()
    _failing(endpoint)
    got = delivery_claim(delivery_id=str(delivery.pk))  # holds the lease
    now = timezone.now()
    locked, go = _hold_the_endpoint_change(monkeypatch)
    changes = {
        "state": "pending",
        "next_attempt_at": now,
        "last_status_code": 503,
        "abandoned_reason": "",
        "delivered_at": None,
        "enqueued_at": None,
    }
    answer = {"status_code": 503, "latency_ms": 5, "error": "", "response_body": ""}
    kwargs = {"enabled": False} if change == "disable" else {"url": receiver.url("/n")}
    errors = _in_threads(
        lambda: webhook_endpoint_set(partner=partner, **kwargs),
        lambda: claims._result_postgresql(
            claim=got, changes=changes, attempt=answer, now=now
        ),
        locked,
        go,
    )
    assert errors == {}
    assert WebhookAttempt.objects.get(pk=got.attempt_row_id).status_code == 503


@pytest.mark.django_db(transaction=True)
def test_a_claim_that_waited_out_a_disable_gives_the_lease_back(
    partner, endpoint_for, receiver, monkeypatch
):
    """The claim took the endpoint's lease, then found its delivery abandoned
    by the disable it waited for: nothing is in flight, so no lease is held."""
    from webhooks.services import webhook_endpoint_set

    endpoint, _ = endpoint_for(partner)
    delivery = emit(partner).deliveries.get()
    _failing(endpoint)
    locked, go = _hold_the_endpoint_change(monkeypatch)
    got: dict = {}

    def claim():
        got["claim"] = delivery_claim(delivery_id=str(delivery.pk))

    errors = _in_threads(
        lambda: webhook_endpoint_set(partner=partner, enabled=False), claim, locked, go
    )
    assert errors == {}
    assert got["claim"] is None
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).probe_until is None


@pytest.mark.django_db
def test_an_attempt_that_sent_nothing_still_hands_the_endpoint_on(
    partner, endpoint_for, receiver, monkeypatch
):
    from webhooks import delivery, tasks
    from webhooks.models import WebhookEvent

    endpoint, _ = endpoint_for(partner)
    purged, nxt = emit(partner).deliveries.get(), emit(partner).deliveries.get()
    WebhookEvent.objects.filter(pk=purged.event_id).delete()  # D36 purge
    _failing(endpoint)
    queued: list[str] = []
    monkeypatch.setattr(
        tasks.webhook_delivery_send_task,
        "apply_async",
        lambda args, **kwargs: queued.append(args[0]),
    )
    assert delivery.deliver(delivery_id=str(purged.pk)) is None  # nothing sent
    assert queued == [str(nxt.pk)]
    assert receiver.received() == []
