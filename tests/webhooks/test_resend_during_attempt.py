"""D24/D35: a resend while an attempt is in flight is one more attempt, not lost.

The in-flight attempt kept its lease, so the resend's task found nothing to
claim, and the older attempt's result then overwrote the ``pending`` state
the resend had set: the API had answered 202 and no attempt ever followed.
"""

from __future__ import annotations

import pytest

from webhooks.delivery import deliver
from webhooks.models import WebhookDelivery
from webhooks.services import webhook_delivery_resend
from webhooks.services.outbox import Verdict, delivery_claim, delivery_record

from .conftest import emit


def test_a_resend_during_an_attempt_sends_again_and_its_outcome_wins(
    partner, endpoint_for, receiver
):
    endpoint_for(partner)
    delivery = emit(partner).deliveries.get()
    in_flight = delivery_claim(delivery_id=str(delivery.pk))  # attempt 1, leased

    webhook_delivery_resend(delivery=delivery)
    resent = deliver(delivery_id=str(delivery.pk))  # the resend's task
    # Attempt 1 comes back late with a 400: it no longer owns the delivery.
    delivery_record(
        claim=in_flight,
        verdict=Verdict.abandon(WebhookDelivery.AbandonedReason.CLIENT_ERROR),
        status_code=400,
        latency_ms=7000,
        error="",
        response_body="late",
    )

    assert resent.state == "delivered"
    delivery.refresh_from_db()
    assert delivery.state == "delivered"
    assert delivery.abandoned_reason == ""
    log = delivery.attempt_log.order_by("number").values_list("number", "status_code")
    assert list(log) == [(1, 400), (2, 200)]  # both attempts are in the log
    (got,) = receiver.received()
    assert got.headers["x-jopay-delivery-attempt"] == "2"
    assert got.headers["webhook-id"] == in_flight.delivery_id  # the same delivery_id


def test_an_attempt_that_ends_before_the_resends_task_runs_does_not_swallow_it(
    partner, endpoint_for, receiver
):
    endpoint_for(partner)
    delivery = emit(partner).deliveries.get()
    in_flight = delivery_claim(delivery_id=str(delivery.pk))

    webhook_delivery_resend(delivery=delivery)
    # Attempt 1 answers first (a 400 would abandon the delivery) ...
    delivery_record(
        claim=in_flight,
        verdict=Verdict.abandon(WebhookDelivery.AbandonedReason.CLIENT_ERROR),
        status_code=400,
        latency_ms=7000,
        error="",
        response_body="late",
    )
    # The resend took the row: that result only fills in attempt 1's log.
    # ... and the resend's task still finds its attempt to send.
    assert deliver(delivery_id=str(delivery.pk)).state == "delivered"
    delivery.refresh_from_db()
    assert delivery.state == "delivered"
    assert len(receiver.received()) == 1


def test_an_attempt_in_flight_cannot_revive_a_delivery_its_disable_abandoned(
    partner, endpoint_for, receiver
):
    from webhooks.services import webhook_endpoint_disable

    endpoint, _ = endpoint_for(partner)
    delivery = emit(partner).deliveries.get()
    in_flight = delivery_claim(delivery_id=str(delivery.pk))
    disabled = webhook_endpoint_disable(endpoint_id=endpoint.pk, reason="endpoint_gone")
    assert disabled == 1

    delivery_record(
        claim=in_flight,
        verdict=Verdict.retry(),
        status_code=503,
        latency_ms=50,
        error="",
        response_body="",
    )
    delivery.refresh_from_db()
    assert (delivery.state, delivery.abandoned_reason) == (
        "abandoned",
        "endpoint_disabled",
    )


def test_a_failure_read_before_a_recovery_does_not_disable_the_endpoint(
    partner, endpoint_for, receiver
):
    # D24: no 2xx for 5 days disables. The attempt was claimed while the streak
    # was 5 days old; another delivery's 2xx ended the streak before it failed.
    from datetime import timedelta

    from django.utils import timezone

    from webhooks.models import WebhookEndpoint

    endpoint, _ = endpoint_for(partner)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        failing_since=timezone.now() - timedelta(days=5, seconds=1)
    )
    delivery = emit(partner).deliveries.get()
    in_flight = delivery_claim(delivery_id=str(delivery.pk))
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=None)

    delivery_record(
        claim=in_flight,
        verdict=Verdict.retry(),
        status_code=500,
        latency_ms=50,
        error="",
        response_body="",
    )
    endpoint.refresh_from_db()
    assert endpoint.enabled is True
    delivery.refresh_from_db()
    assert delivery.state == "pending"


# --- answers that come back after the endpoint changed under them (D24) ---------


def _late(claim, verdict, status_code):
    delivery_record(
        claim=claim,
        verdict=verdict,
        status_code=status_code,
        latency_ms=7000,
        error="",
        response_body="late",
    )


GONE = Verdict.abandon(
    WebhookDelivery.AbandonedReason.GONE, disable_endpoint="endpoint_gone"
)


def test_a_410_from_a_replaced_url_does_not_disable_the_new_one_or_drop_the_event(
    partner, endpoint_for, receiver
):
    from webhooks.services import webhook_endpoint_set

    endpoint, _ = endpoint_for(partner, "/old")
    delivery = emit(partner).deliveries.get()
    in_flight = delivery_claim(delivery_id=str(delivery.pk))
    webhook_endpoint_set(partner=partner, url=receiver.url("/new"))

    _late(in_flight, GONE, 410)

    endpoint.refresh_from_db()
    assert (endpoint.enabled, endpoint.disabled_reason) == (True, "")
    # The event still goes to the new URL, at once.
    assert deliver(delivery_id=str(delivery.pk)).state == "delivered"
    assert [r.path for r in receiver.received()] == ["/new"]


def test_a_failure_from_a_replaced_url_does_not_start_the_new_urls_streak(
    partner, endpoint_for, receiver
):
    from webhooks.services import webhook_endpoint_set

    endpoint, _ = endpoint_for(partner, "/old")
    delivery = emit(partner).deliveries.get()
    in_flight = delivery_claim(delivery_id=str(delivery.pk))
    webhook_endpoint_set(partner=partner, url=receiver.url("/new"))

    _late(in_flight, Verdict.retry(), 503)

    endpoint.refresh_from_db()
    assert endpoint.failing_since is None


def test_a_2xx_from_a_replaced_url_does_not_end_the_new_urls_streak(
    partner, endpoint_for, receiver
):
    from django.utils import timezone

    from webhooks.models import WebhookEndpoint
    from webhooks.services import webhook_endpoint_set

    endpoint, _ = endpoint_for(partner, "/old")
    delivery = emit(partner).deliveries.get()
    in_flight = delivery_claim(delivery_id=str(delivery.pk))
    webhook_endpoint_set(partner=partner, url=receiver.url("/new"))
    failing = timezone.now()
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=failing)

    _late(in_flight, Verdict.delivered(), 200)

    endpoint.refresh_from_db()
    assert endpoint.failing_since == failing


def test_a_410_sent_before_a_disable_and_re_enable_does_not_disable_it_again(
    partner, endpoint_for, receiver
):
    from webhooks.services import webhook_endpoint_set

    endpoint, _ = endpoint_for(partner)
    delivery = emit(partner).deliveries.get()
    in_flight = delivery_claim(delivery_id=str(delivery.pk))
    webhook_endpoint_set(partner=partner, enabled=False)
    webhook_endpoint_set(partner=partner, enabled=True)  # the partner fixed it

    _late(in_flight, GONE, 410)

    endpoint.refresh_from_db()
    assert (endpoint.enabled, endpoint.disabled_reason) == (True, "")


def test_a_410_from_the_current_url_still_disables_it(partner, endpoint_for, receiver):
    endpoint, _ = endpoint_for(partner)
    delivery = emit(partner).deliveries.get()
    in_flight = delivery_claim(delivery_id=str(delivery.pk))

    _late(in_flight, GONE, 410)

    endpoint.refresh_from_db()
    assert (endpoint.enabled, endpoint.disabled_reason) == (False, "endpoint_gone")
    delivery.refresh_from_db()
    assert (delivery.state, delivery.abandoned_reason) == ("abandoned", "endpoint_gone")


def test_a_2xx_that_lands_after_a_disable_marks_the_delivery_delivered(
    partner, endpoint_for, receiver
):
    # The receiver has the event: "abandoned" would send the partner to
    # reconcile (or resend) an event it already processed.
    from webhooks.services import webhook_endpoint_set

    endpoint_for(partner)
    delivery = emit(partner).deliveries.get()
    in_flight = delivery_claim(delivery_id=str(delivery.pk))
    webhook_endpoint_set(partner=partner, enabled=False)

    _late(in_flight, Verdict.delivered(), 200)

    delivery.refresh_from_db()
    assert (delivery.state, delivery.abandoned_reason) == ("delivered", "")
    assert delivery.delivered_at is not None
    assert delivery.last_status_code == 200


def _wait_until_a_query_waits_on_a_lock(timeout: float = 10) -> None:
    """Block until another backend is waiting on a row lock (pg_stat_activity)."""
    import time

    import psycopg
    from django.db import connection

    params = connection.get_connection_params()
    deadline = time.monotonic() + timeout
    with psycopg.connect(**params, autocommit=True) as watcher:
        while time.monotonic() < deadline:
            waiting = watcher.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE datname = current_database() AND wait_event_type = 'Lock'"
            ).fetchone()[0]
            if waiting:
                return
            time.sleep(0.01)
    raise AssertionError("the claim never waited on the URL change's row lock")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("form", ["postgresql", "portable"])
def test_a_claim_that_waited_out_a_url_change_cannot_drop_the_event(
    partner, endpoint_for, receiver, form, monkeypatch
):
    # The claim's UPDATE waits on the delivery row while the URL change
    # commits, then takes a valid lease but reads the endpoint as of its
    # statement's start: the old URL. That URL's 410 abandoned the event the
    # new URL never saw.
    import threading

    from django.db import connection, transaction

    from webhooks.services import claims, claims_portable, webhook_endpoint_set

    if form == "portable":
        monkeypatch.setattr(claims, "_result_postgresql", claims_portable.write_result)
    endpoint, _ = endpoint_for(partner)
    delivery = emit(partner).deliveries.get()
    changed, go, got = threading.Event(), threading.Event(), {}

    def change():
        try:
            with transaction.atomic():
                webhook_endpoint_set(partner=partner, url=receiver.url("/new"))
                changed.set()
                go.wait(10)
        finally:
            connection.close()

    def claim():
        try:
            got["claim"] = delivery_claim(delivery_id=str(delivery.pk))
        finally:
            connection.close()

    changer = threading.Thread(target=change)
    changer.start()
    assert changed.wait(10)
    claimer = threading.Thread(target=claim)
    claimer.start()
    _wait_until_a_query_waits_on_a_lock()  # the claim, on the delivery row
    go.set()
    changer.join(10)
    claimer.join(10)
    stale = got["claim"]
    assert stale.url == endpoint.url  # the race did happen: the old URL

    _late(stale, GONE, 410)

    delivery.refresh_from_db()
    assert delivery.state == "pending"  # not abandoned: the new URL gets it
    endpoint.refresh_from_db()
    assert (endpoint.enabled, endpoint.url) == (True, receiver.url("/new"))
