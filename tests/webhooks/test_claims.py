"""The claim/result writes: the PostgreSQL one-statement form and the portable
ORM form (the embedded SQLite default, D30) behave the same (D24)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from webhooks.services import claims, claims_portable

from .conftest import emit

FORMS = [
    (claims._claim_postgresql, claims._result_postgresql),
    (claims_portable.claim, claims_portable.write_result),
]


@pytest.fixture
def pending(partner, endpoint_for):
    _, secret = endpoint_for(partner)
    return emit(partner).deliveries.get(), secret


@pytest.mark.parametrize(("claim", "result"), FORMS)
def test_claim_leases_counts_and_logs_once(pending, claim, result):
    delivery, secret = pending
    now = timezone.now()
    got = claim(delivery_id=str(delivery.pk), now=now)
    assert got.attempt == 1
    assert got.secrets == [secret]
    assert got.endpoint_enabled is True
    assert got.payload["event"] == "payment.proof_attached"
    assert claim(delivery_id=str(delivery.pk), now=now) is None  # leased
    delivery.refresh_from_db()
    assert delivery.attempts == 1
    assert delivery.locked_until == now + timedelta(seconds=claims.LEASE_SECONDS)
    row = WebhookAttempt.objects.get(pk=got.attempt_row_id)
    assert (row.number, row.error) == (1, claims.INTERRUPTED)
    # After the lease runs out the row can be claimed again, as attempt 2.
    later = now + timedelta(seconds=claims.LEASE_SECONDS)
    assert claim(delivery_id=str(delivery.pk), now=later).attempt == 2


@pytest.mark.parametrize(("claim", "result"), FORMS)
def test_result_is_written_only_by_the_owning_attempt(pending, claim, result):
    delivery, _ = pending
    now = timezone.now()
    first = claim(delivery_id=str(delivery.pk), now=now)
    later = now + timedelta(seconds=claims.LEASE_SECONDS)
    second = claim(delivery_id=str(delivery.pk), now=later)
    attempt = {"status_code": 200, "latency_ms": 5, "error": "", "response_body": "ok"}
    changes = {
        "state": "delivered",
        "next_attempt_at": None,
        "last_status_code": 200,
        "abandoned_reason": "",
        "delivered_at": later,
        "enqueued_at": None,
    }
    assert result(claim=first, changes=changes, attempt=attempt, now=later) is False
    delivery.refresh_from_db()
    assert delivery.state == "pending"  # the stale attempt only logged itself
    assert WebhookAttempt.objects.get(pk=first.attempt_row_id).status_code == 200
    assert result(claim=second, changes=changes, attempt=attempt, now=later) is True
    delivery.refresh_from_db()
    assert delivery.state == "delivered"
    assert delivery.delivered_at == later
    assert delivery.locked_until is None
    assert delivery.enqueued_at is not None


@pytest.mark.parametrize(("claim", "result"), FORMS)
@pytest.mark.parametrize(
    ("reason", "state", "moves"),
    [
        ("endpoint_disabled", "delivered", True),  # the receiver has it
        ("endpoint_disabled", "pending", False),  # a failure does not revive it
        ("client_error", "delivered", False),  # only a disable's abandon
    ],
)
def test_a_2xx_in_flight_across_a_disable_marks_the_delivery_delivered(
    pending, claim, result, reason, state, moves
):
    delivery, _ = pending
    now = timezone.now()
    got = claim(delivery_id=str(delivery.pk), now=now)
    # What ``_disable`` does to the endpoint's pending rows (it clears the lease).
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        state="abandoned", abandoned_reason=reason, locked_until=None
    )
    code = 200 if state == "delivered" else 503
    attempt = {"status_code": code, "latency_ms": 5, "error": "", "response_body": ""}
    changes = {
        "state": state,
        "next_attempt_at": None if state == "delivered" else now,
        "last_status_code": code,
        "abandoned_reason": "",
        "delivered_at": now if state == "delivered" else None,
        "enqueued_at": None,
    }
    assert result(claim=got, changes=changes, attempt=attempt, now=now) is moves
    delivery.refresh_from_db()
    expected = ("delivered", "") if moves else ("abandoned", reason)
    assert (delivery.state, delivery.abandoned_reason) == expected


@pytest.mark.parametrize(("claim", "result"), FORMS)
def test_not_due_or_not_pending_is_not_claimed(pending, claim, result):
    delivery, _ = pending
    now = timezone.now()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=now + timedelta(seconds=1)
    )
    assert claim(delivery_id=str(delivery.pk), now=now) is None
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=now, state="delivered"
    )
    assert claim(delivery_id=str(delivery.pk), now=now) is None
    assert not WebhookAttempt.objects.exists()


@pytest.mark.parametrize(("claim", "result"), FORMS)
def test_a_lease_that_ran_out_is_claimed_again_only_while_tries_remain(
    pending, claim, result, settings
):
    # A lease that ran out is an attempt that never reported back (a killed
    # worker): it counts as a D24 try, so the row is not sent for ever.
    settings.JOPAY_WEBHOOK_RETRY_SCHEDULE = [60]  # two tries
    delivery, _ = pending
    now = timezone.now()
    lease = timedelta(seconds=claims.LEASE_SECONDS)
    assert claim(delivery_id=str(delivery.pk), now=now).attempt == 1
    assert claim(delivery_id=str(delivery.pk), now=now + lease).attempt == 2
    assert claim(delivery_id=str(delivery.pk), now=now + 2 * lease) is None
    # A resend clears the lease: one more try, whatever the count.
    WebhookDelivery.objects.filter(pk=delivery.pk).update(locked_until=None)
    assert claim(delivery_id=str(delivery.pk), now=now + 2 * lease).attempt == 3


@pytest.mark.parametrize(("claim", "result"), FORMS)
def test_an_attempts_log_row_takes_one_result(pending, claim, result):
    delivery, _ = pending
    now = timezone.now()
    got = claim(delivery_id=str(delivery.pk), now=now)
    changes = {
        "state": "delivered",
        "next_attempt_at": None,
        "last_status_code": 200,
        "abandoned_reason": "",
        "delivered_at": now,
        "enqueued_at": None,
    }
    answer = {"status_code": 200, "latency_ms": 5, "error": "", "response_body": "ok"}
    assert result(claim=got, changes=changes, attempt=answer, now=now) is True
    # A second write for the same attempt (the sweeper ending a lease it read
    # just before this result landed) cannot overwrite the real answer.
    unknown = {
        "status_code": None,
        "latency_ms": None,
        "error": claims.INTERRUPTED,
        "response_body": "",
    }
    assert result(claim=got, changes=changes, attempt=unknown, now=now) is False
    row = WebhookAttempt.objects.get(pk=got.attempt_row_id)
    assert (row.status_code, row.error, row.response_body) == (200, "", "ok")


@pytest.mark.parametrize(("claim", "result"), FORMS)
def test_a_2xx_ends_a_streak_that_started_after_its_claim(pending, claim, result):
    """D24: a failure recorded by another worker while this send was in flight
    started a streak the claim never saw; the 2xx that came after it ends it."""
    delivery, _ = pending
    now = timezone.now()
    got = claim(delivery_id=str(delivery.pk), now=now)
    assert got.failing_since is None
    WebhookEndpoint.objects.filter(pk=got.endpoint_id).update(failing_since=now)
    changes = {
        "state": "delivered",
        "next_attempt_at": None,
        "last_status_code": 200,
        "abandoned_reason": "",
        "delivered_at": now,
        "enqueued_at": None,
    }
    answer = {"status_code": 200, "latency_ms": 5, "error": "", "response_body": ""}
    assert result(
        claim=got, changes=changes, attempt=answer, now=now, clear_streak=True
    )
    assert WebhookEndpoint.objects.get(pk=got.endpoint_id).failing_since is None


def _delivered(now) -> dict:
    return {
        "state": "delivered",
        "next_attempt_at": None,
        "last_status_code": 200,
        "abandoned_reason": "",
        "delivered_at": now,
        "enqueued_at": None,
    }


def _answer(code: int) -> dict:
    return {"status_code": code, "latency_ms": 5, "error": "", "response_body": ""}


@pytest.mark.parametrize(("claim", "result"), FORMS)
def test_a_failing_endpoint_takes_one_attempt_at_a_time(
    partner, endpoint_for, claim, result
):
    """A hanging receiver holds one worker, not the pool: while the endpoint's
    streak runs, a second delivery to it is not claimed until the first
    attempt reports back or its lease runs out. Tries are not touched (D24)."""
    endpoint, _ = endpoint_for(partner)
    first, second = emit(partner).deliveries.get(), emit(partner).deliveries.get()
    now = timezone.now()
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=now)
    got = claim(delivery_id=str(first.pk), now=now)
    assert got is not None
    assert claim(delivery_id=str(second.pk), now=now) is None
    second.refresh_from_db()
    assert (second.attempts, second.locked_until) == (0, None)  # untouched
    assert not WebhookAttempt.objects.filter(delivery=second).exists()
    # The attempt reports back (a failure: the streak goes on) → the next one.
    failed = {**_delivered(None), "state": "pending", "next_attempt_at": now}
    assert result(claim=got, changes=failed, attempt=_answer(503), now=now)
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).probe_until is None
    nxt = claim(delivery_id=str(second.pk), now=now)
    assert nxt.attempt == 1
    # A worker that never reports back: its lease runs out with the delivery's.
    third = emit(partner).deliveries.get()
    assert claim(delivery_id=str(third.pk), now=timezone.now()) is None
    later = now + timedelta(seconds=claims.LEASE_SECONDS)
    assert claim(delivery_id=str(third.pk), now=later) is not None


@pytest.mark.parametrize(("claim", "result"), FORMS)
def test_a_healthy_endpoint_takes_attempts_in_parallel(
    partner, endpoint_for, claim, result
):
    endpoint, _ = endpoint_for(partner)
    first, second = emit(partner).deliveries.get(), emit(partner).deliveries.get()
    now = timezone.now()
    assert claim(delivery_id=str(first.pk), now=now) is not None
    assert claim(delivery_id=str(second.pk), now=now) is not None
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).probe_until is None


@pytest.mark.parametrize(("claim", "result"), FORMS)
def test_a_2xx_ends_the_streak_and_frees_the_endpoint(
    partner, endpoint_for, claim, result
):
    endpoint, _ = endpoint_for(partner)
    first, second = emit(partner).deliveries.get(), emit(partner).deliveries.get()
    now = timezone.now()
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=now)
    got = claim(delivery_id=str(first.pk), now=now)
    assert result(
        claim=got,
        changes=_delivered(now),
        attempt=_answer(200),
        now=now,
        clear_streak=True,
    )
    endpoint.refresh_from_db()
    assert (endpoint.failing_since, endpoint.probe_until) == (None, None)
    # Healthy again: no lease taken, attempts in parallel.
    third = emit(partner).deliveries.get()
    assert claim(delivery_id=str(second.pk), now=now) is not None
    assert claim(delivery_id=str(third.pk), now=timezone.now()) is not None


@pytest.mark.parametrize(("claim", "result"), FORMS)
def test_a_stale_result_does_not_free_a_newer_attempts_lease(
    partner, endpoint_for, claim, result
):
    endpoint, _ = endpoint_for(partner)
    first, second = emit(partner).deliveries.get(), emit(partner).deliveries.get()
    now = timezone.now()
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=now)
    stale = claim(delivery_id=str(first.pk), now=now)
    later = now + timedelta(seconds=claims.LEASE_SECONDS)
    newer = claim(delivery_id=str(second.pk), now=later)  # the first's ran out
    assert newer is not None
    failed = {**_delivered(None), "state": "pending", "next_attempt_at": later}
    result(claim=stale, changes=failed, attempt=_answer(503), now=later)
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).probe_until == newer.lease
    assert claim(delivery_id=str(emit(partner).deliveries.get().pk), now=later) is None


@pytest.mark.django_db(transaction=True)
def test_the_reused_cursor_follows_a_reconnect(partner, endpoint_for):
    # The PostgreSQL form reuses one client cursor per connection; after Django
    # closes the connection (CONN_MAX_AGE, an error), the next claim opens a new
    # connection and must not use the cursor of the closed one.
    from django.db import connection

    endpoint_for(partner)
    first, second = (emit(partner).deliveries.get() for _ in range(2))
    now = timezone.now()
    assert claims.claim(delivery_id=str(first.pk), now=now).attempt == 1
    held = connection._jopay_prepared_cursor
    connection.close()
    assert held[1].closed or held[0].closed
    got = claims.claim(delivery_id=str(second.pk), now=now)
    assert got is not None
    assert got.attempt == 1
    assert connection._jopay_prepared_cursor[0] is connection.connection
    assert connection._jopay_prepared_cursor is not held
    second.refresh_from_db()
    assert second.attempts == 1
