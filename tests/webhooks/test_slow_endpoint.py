"""One attempt at a time to a slow endpoint (``webhooks.services.claims``).

A receiver that answers every POST with a 2xx, but only after several
seconds, is never failing (D24), yet sent a backlog in parallel it held every
worker of the pool and the other partners' webhooks waited behind it. A 2xx
that took ``JOPAY_WEBHOOK_SLOW_SECONDS`` or longer marks the endpoint slow
(``slow_since``); while it is, it takes the failing endpoint's one-attempt
lease. A faster 2xx clears it. Only when an attempt is sent changes: tries
and the schedule are untouched.
"""

from __future__ import annotations

import itertools
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from merchants.models import Partner
from webhooks.delivery import deliver
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.services import webhook_endpoint_set
from webhooks.services.outbox import due_delivery_ids, endpoint_next_ids

from .conftest import Answer, emit
from .test_claims import FORMS, _delivered
from .test_worker import wait_state


def _two_xx(result, claim, now, *, slow: bool) -> bool:
    """Record a 2xx for ``claim``: at 7 s (slow) or at 40 ms."""
    return result(
        claim=claim,
        changes=_delivered(now),
        attempt={
            "status_code": 200,
            "latency_ms": 7000 if slow else 40,
            "error": "",
            "response_body": "",
        },
        now=now,
        clear_streak=True,
        slow=slow,
    )


def _slow_since(endpoint):
    return WebhookEndpoint.objects.get(pk=endpoint.pk).slow_since


@pytest.mark.parametrize(("claim", "result"), FORMS)
def test_a_slow_2xx_marks_the_endpoint_and_a_fast_one_clears_it(
    partner, endpoint_for, claim, result
):
    endpoint, _ = endpoint_for(partner)
    rows = [emit(partner).deliveries.get() for _ in range(4)]
    now = timezone.now()
    first = claim(delivery_id=str(rows[0].pk), now=now)
    assert first.probed is False  # healthy: no lease
    assert _two_xx(result, first, now, slow=True)
    assert _slow_since(endpoint) == now
    # Slow: the next claim takes the endpoint's lease, and a third finds it held.
    second = claim(delivery_id=str(rows[1].pk), now=now)
    assert second.probed is True
    assert WebhookEndpoint.objects.get(pk=endpoint.pk).probe_until == second.lease
    assert claim(delivery_id=str(rows[2].pk), now=now) is None
    rows[2].refresh_from_db()
    assert (rows[2].attempts, rows[2].locked_until) == (0, None)  # untouched
    # Another slow 2xx keeps the first mark and gives the lease back.
    later = now + timedelta(seconds=8)
    assert _two_xx(result, second, later, slow=True)
    got = WebhookEndpoint.objects.get(pk=endpoint.pk)
    assert (got.slow_since, got.probe_until) == (now, None)
    third = claim(delivery_id=str(rows[2].pk), now=later)
    assert third.probed is True
    # A fast 2xx: healthy again, attempts go in parallel.
    assert _two_xx(result, third, later, slow=False)
    assert _slow_since(endpoint) is None
    assert claim(delivery_id=str(rows[3].pk), now=later).probed is False


@pytest.mark.parametrize(("claim", "result"), FORMS)
def test_a_slow_2xx_from_a_replaced_url_says_nothing_about_the_new_one(
    partner, endpoint_for, receiver, claim, result
):
    endpoint, _ = endpoint_for(partner)
    delivery = emit(partner).deliveries.get()
    now = timezone.now()
    got = claim(delivery_id=str(delivery.pk), now=now)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(url=receiver.url("/new"))
    _two_xx(result, got, now, slow=True)
    assert _slow_since(endpoint) is None


@pytest.mark.parametrize(("claim", "result"), FORMS)
def test_a_2xx_that_ends_a_streak_also_ends_its_retry_after_hold(
    partner, endpoint_for, claim, result
):
    """An attempt in flight gets a slow 2xx after another one's 429 held the
    endpoint for an hour: the streak ends, and so does the hold, which the
    slow endpoint's lease would otherwise have honoured for that hour."""
    endpoint, _ = endpoint_for(partner)
    first, second = emit(partner).deliveries.get(), emit(partner).deliveries.get()
    now = timezone.now()
    got = claim(delivery_id=str(first.pk), now=now)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        failing_since=now, probe_until=now + timedelta(hours=1)
    )
    assert claim(delivery_id=str(second.pk), now=now) is None  # held
    assert _two_xx(result, got, now, slow=True)
    ended = WebhookEndpoint.objects.get(pk=endpoint.pk)
    assert (ended.failing_since, ended.probe_until) == (None, None)
    assert ended.slow_since == now
    assert claim(delivery_id=str(second.pk), now=now).probed is True


@pytest.mark.django_db
def test_the_sweeper_and_the_hand_on_offer_a_slow_endpoint_one_row(
    partner, endpoint_for
):
    endpoint, _ = endpoint_for(partner)
    rows = [emit(partner).deliveries.get() for _ in range(3)]
    WebhookDelivery.objects.update(enqueued_at=None)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(slow_since=timezone.now())
    assert due_delivery_ids() == [str(rows[0].pk)]
    WebhookDelivery.objects.update(enqueued_at=None)
    assert endpoint_next_ids(endpoint_id=endpoint.pk) == [str(rows[0].pk)]
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(slow_since=None)
    assert len(endpoint_next_ids(endpoint_id=endpoint.pk)) == 3


@pytest.mark.django_db
@pytest.mark.parametrize("change", ["url", "re-enable"])
def test_a_new_url_or_a_re_enable_starts_the_endpoint_afresh(
    partner, endpoint_for, receiver, change
):
    endpoint, _ = endpoint_for(partner)
    now = timezone.now()
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        slow_since=now, probe_until=now + timedelta(hours=1)
    )
    if change == "url":
        webhook_endpoint_set(partner=partner, url=receiver.url("/new"))
    else:
        webhook_endpoint_set(partner=partner, enabled=False)
        webhook_endpoint_set(partner=partner, enabled=True)
    got = WebhookEndpoint.objects.get(pk=endpoint.pk)
    assert (got.slow_since, got.probe_until) == (None, None)


@pytest.mark.django_db(transaction=True)
def test_deliver_measures_the_answer_against_the_setting(
    partner, endpoint_for, receiver, settings
):
    """The real send: a 2xx at 1.2 s is slow with the setting at 1 s, hands the
    endpoint on to one row; a fast 2xx then hands on every due row."""
    settings.JOPAY_WEBHOOK_SLOW_SECONDS = 1
    endpoint, _ = endpoint_for(partner)
    rows = [emit(partner).deliveries.get() for _ in range(4)]
    receiver.program("/hook", Answer(200, delay=1.2))
    assert deliver(delivery_id=str(rows[0].pk)).state == "delivered"
    assert _slow_since(endpoint) is not None
    receiver.program("/hook", Answer(200))
    recorded = deliver(delivery_id=str(rows[1].pk))
    assert (recorded.state, recorded.probed) == ("delivered", True)
    assert _slow_since(endpoint) is None
    assert deliver(delivery_id=str(rows[2].pk)).probed is False


@pytest.mark.django_db(transaction=True)
def test_a_slow_receiver_holds_one_worker_and_the_others_keep_delivering(
    partner, endpoint_for, receiver, celery_worker
):
    """Two worker processes; partner A's receiver answers 200 after 2 s and its
    backlog is queued first. Once its first answers came back slow, A never
    has two attempts in flight, and partner B's webhooks are delivered while
    A's backlog waits."""
    endpoint_for(partner, "/slow")
    receiver.program("/slow", Answer(200, delay=2.0))
    other = Partner.objects.create(name="Bob", slug="bob-pay")
    endpoint_for(other, "/fast")
    celery_worker(JOPAY_WEBHOOK_SLOW_SECONDS="1")
    celery_worker(JOPAY_WEBHOOK_SLOW_SECONDS="1")
    backlog = [emit(partner).deliveries.get() for _ in range(6)]
    # Both workers take A's first two at once (A is not known to be slow yet).
    receiver.wait_for(2, "/slow", timeout=10)
    started = time.monotonic()
    fast = [emit(other).deliveries.get() for _ in range(3)]
    for delivery in fast:
        wait_state(delivery, "delivered", timeout=20)
    took = time.monotonic() - started
    # Without the lease both workers spend 2 s on each of A's next four
    # (about 4 s more) before B's turn; with it, one worker does.
    assert took < 3.5, took
    # The backlog still drains, with no sweeper running, one at a time.
    for delivery in backlog:
        wait_state(delivery, "delivered", timeout=30)
    got = receiver.wait_for(6, "/slow", timeout=5)
    gaps = [b.at - a.at for a, b in itertools.pairwise(got[2:])]
    assert min(gaps) >= 1.9, gaps
    assert {r.headers["webhook-id"] for r in got} == {str(d.pk) for d in backlog}
    assert all(r.headers["x-jopay-delivery-attempt"] == "1" for r in got)


@pytest.mark.django_db
def test_the_portal_tells_the_partner_why_deliveries_go_one_at_a_time(
    partner, endpoint_for
):
    from tests.factories import PartnerUserFactory, UserFactory
    from tests.portal.conftest import logged_in

    endpoint, _ = endpoint_for(partner)
    user = UserFactory(username="alice@example.com", email="alice@example.com")
    portal = logged_in(PartnerUserFactory(user=user, partner=partner))
    assert b'data-testid="slow-endpoint"' not in portal.get("/portal/webhooks/").content
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        slow_since=timezone.now().replace(year=2026, month=12, day=7, hour=9, minute=5)
    )
    page = portal.get("/portal/webhooks/").content.decode()
    assert 'data-testid="slow-endpoint"' in page
    assert "taken 2 seconds or more to answer since 2026-12-07 09:05 UTC" in page
    # A failing endpoint shows its own notice instead.
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(failing_since=timezone.now())
    page = portal.get("/portal/webhooks/").content.decode()
    assert 'data-testid="slow-endpoint"' not in page
    assert "No successful delivery since" in page
