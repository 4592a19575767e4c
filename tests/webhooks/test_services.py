"""Endpoint setup, rotation, the outbox rows event_emit writes, resend (D23-D26)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from jopay_project.errors import ErrorCode, JoPayError
from webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from webhooks.services import (
    event_emit,
    event_resend,
    webhook_delivery_resend,
    webhook_endpoint_set,
    webhook_rotation_confirm,
    webhook_secret_rotate,
    webhook_test_send,
)
from webhooks.services.outbox import events_purge

from .conftest import emit

URL = "https://127.0.0.1:9/hook"


@pytest.fixture(autouse=True)
def _loopback_allowed(settings):
    settings.JOPAY_WEBHOOK_ALLOW_PRIVATE_HOSTS = True


def _code(excinfo) -> str:
    return str(excinfo.value.code)


# --- endpoint -----------------------------------------------------------------


def test_first_enable_generates_the_secret_once(partner):
    endpoint, secret = webhook_endpoint_set(partner=partner, url=URL, enabled=True)
    assert secret is not None
    assert len(secret) == 64
    assert secret == endpoint.secret
    assert endpoint.enabled
    assert endpoint.enabled_at is not None
    _, again = webhook_endpoint_set(partner=partner, enabled=False)
    _, again2 = webhook_endpoint_set(partner=partner, enabled=True)
    assert again is None
    assert again2 is None
    assert WebhookEndpoint.objects.get(partner=partner).secret == secret


def test_setting_a_url_alone_does_not_enable_or_make_a_secret(partner):
    endpoint, secret = webhook_endpoint_set(partner=partner, url=URL)
    assert secret is None
    assert not endpoint.enabled
    assert endpoint.secret == ""


def test_enable_without_url_is_webhook_not_configured(partner):
    with pytest.raises(JoPayError) as exc:
        webhook_endpoint_set(partner=partner, enabled=True)
    assert _code(exc) == ErrorCode.WEBHOOK_NOT_CONFIGURED


@pytest.mark.parametrize("url", ["http://127.0.0.1/hook", "not a url", "https://"])
def test_bad_url_is_invalid_webhook_url_and_writes_nothing(partner, url):
    webhook_endpoint_set(partner=partner, url=URL, enabled=True)
    with pytest.raises(JoPayError) as exc:
        webhook_endpoint_set(partner=partner, url=url, enabled=False)
    assert _code(exc) == ErrorCode.INVALID_WEBHOOK_URL
    endpoint = WebhookEndpoint.objects.get(partner=partner)
    assert endpoint.url == URL
    assert endpoint.enabled


def test_private_url_is_refused_at_save_in_production(partner, settings):
    settings.JOPAY_WEBHOOK_ALLOW_PRIVATE_HOSTS = False
    with pytest.raises(JoPayError) as exc:
        webhook_endpoint_set(partner=partner, url="https://10.0.0.5/hook")
    assert _code(exc) == ErrorCode.INVALID_WEBHOOK_URL


def test_empty_url_removes_it_and_switches_off(partner):
    webhook_endpoint_set(partner=partner, url=URL, enabled=True)
    endpoint, _ = webhook_endpoint_set(partner=partner, url="")
    assert endpoint.url == ""
    assert not endpoint.enabled


def test_re_enable_resets_enabled_at_and_the_failure_streak(partner):
    endpoint, _ = webhook_endpoint_set(partner=partner, url=URL, enabled=True)
    first = endpoint.enabled_at
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        failing_since=timezone.now() - timedelta(days=1)
    )
    webhook_endpoint_set(partner=partner, enabled=False)
    endpoint, _ = webhook_endpoint_set(partner=partner, enabled=True)
    assert endpoint.enabled_at > first
    assert endpoint.failing_since is None
    assert endpoint.disabled_reason == ""


def test_a_new_url_starts_without_the_old_urls_failure_streak(partner):
    # D24: five days without a 2xx since the first failure *at this URL*; a
    # partner replacing a dead URL is not disabled by the new one's first hiccup.
    webhook_endpoint_set(partner=partner, url=URL, enabled=True)
    streak = timezone.now() - timedelta(days=4)
    WebhookEndpoint.objects.filter(partner=partner).update(failing_since=streak)
    endpoint, _ = webhook_endpoint_set(partner=partner, url=URL)  # the same URL
    assert endpoint.failing_since == streak
    endpoint, _ = webhook_endpoint_set(partner=partner, url=URL + "/v2")
    assert endpoint.failing_since is None
    assert endpoint.enabled


def test_removing_the_url_while_enabling_is_webhook_not_configured(partner):
    webhook_endpoint_set(partner=partner, url=URL, enabled=True)
    with pytest.raises(JoPayError) as exc:
        webhook_endpoint_set(partner=partner, url="", enabled=True)
    assert _code(exc) == ErrorCode.WEBHOOK_NOT_CONFIGURED
    endpoint = WebhookEndpoint.objects.get(partner=partner)
    assert (endpoint.url, endpoint.enabled) == (URL, True)  # nothing written


def test_rotation_keeps_the_old_secret_until_confirmed(partner):
    _, old = webhook_endpoint_set(partner=partner, url=URL, enabled=True)
    new = webhook_secret_rotate(partner=partner)
    endpoint = WebhookEndpoint.objects.get(partner=partner)
    assert new != old
    assert endpoint.signing_secrets() == [new, old]
    assert endpoint.rotation_pending
    # Again before confirming: the same new secret (receivers may already run
    # with it; replaced, their 401s abandoned every delivery, D24).
    assert webhook_secret_rotate(partner=partner) == new
    endpoint.refresh_from_db()
    assert endpoint.signing_secrets() == [new, old]
    webhook_rotation_confirm(partner=partner)
    endpoint.refresh_from_db()
    assert endpoint.signing_secrets() == [new]
    assert not endpoint.rotation_pending
    webhook_rotation_confirm(partner=partner)  # idempotent


def test_rotation_without_a_secret_is_webhook_not_configured(partner):
    with pytest.raises(JoPayError) as exc:
        webhook_secret_rotate(partner=partner)
    assert _code(exc) == ErrorCode.WEBHOOK_NOT_CONFIGURED


# --- event_emit and the outbox ---------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_emit_refuses_to_run_outside_a_transaction():
    from tests.factories import PartnerFactory

    partner = PartnerFactory()
    with pytest.raises(RuntimeError):
        event_emit(partner=partner, test_mode=False, type="request.expired", data={})
    assert not WebhookEvent.objects.exists()


def test_emit_writes_one_pending_delivery_per_enabled_endpoint(
    partner, django_capture_on_commit_callbacks
):
    webhook_endpoint_set(partner=partner, url=URL, enabled=True)
    with django_capture_on_commit_callbacks() as callbacks:
        event = emit(partner, request_id=uuid.uuid4())
    delivery = WebhookDelivery.objects.get(event=event)
    assert delivery.state == WebhookDelivery.State.PENDING
    assert delivery.partner_id == partner.pk
    assert delivery.test_mode is False
    assert delivery.attempts == 0
    assert delivery.next_attempt_at <= timezone.now()
    assert len(callbacks) == 1  # the send is enqueued on commit (STYLE.md)


def test_emit_without_an_enabled_endpoint_writes_no_delivery(partner, other_partner):
    webhook_endpoint_set(partner=other_partner, url=URL, enabled=True)
    webhook_endpoint_set(partner=partner, url=URL)  # URL but not enabled
    event = emit(partner)
    assert not WebhookDelivery.objects.filter(event=event).exists()


def test_no_backfill_of_events_before_enabled_at(partner):
    before = emit(partner)
    webhook_endpoint_set(partner=partner, url=URL, enabled=True)
    after = emit(partner)
    assert not before.deliveries.exists()
    assert after.deliveries.count() == 1


def test_sequence_counts_per_request_in_write_order(partner):
    rid, other = uuid.uuid4(), uuid.uuid4()
    seqs = [emit(partner, request_id=rid).sequence for _ in range(3)]
    assert seqs == [1, 2, 3]
    assert emit(partner, request_id=other).sequence == 1
    payload = WebhookEvent.objects.filter(request_id=rid).first().payload
    assert payload["sequence"] == 3
    assert payload["request_id"] == str(rid)
    assert payload["partner_id"] == str(partner.pk)
    assert payload["test_mode"] is False


def test_sequence_carries_on_after_the_requests_old_events_are_purged(partner):
    # D23 + D36: a request open for 90 days outlives its first events (30 days).
    rid = uuid.uuid4()
    assert [emit(partner, request_id=rid).sequence for _ in range(2)] == [1, 2]
    purged = events_purge(now=timezone.now() + timedelta(days=31))
    assert purged["events"] == 2
    assert not WebhookEvent.objects.filter(request_id=rid).exists()
    later = emit(partner, request_id=rid)
    assert later.sequence == later.payload["sequence"] == 3


def test_event_and_delivery_roll_back_with_the_state_change(partner):
    webhook_endpoint_set(partner=partner, url=URL, enabled=True)

    def state_change_that_fails():
        with transaction.atomic():
            event_emit(
                partner=partner, test_mode=False, type="request.expired", data={}
            )
            raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        state_change_that_fails()
    assert not WebhookEvent.objects.exists()
    assert not WebhookDelivery.objects.exists()


def test_test_send_needs_a_configured_endpoint(partner):
    with pytest.raises(JoPayError) as exc:
        webhook_test_send(partner=partner)
    assert _code(exc) == ErrorCode.WEBHOOK_NOT_CONFIGURED
    webhook_endpoint_set(partner=partner, url=URL, enabled=True)
    delivery = webhook_test_send(partner=partner, test_mode=True)
    assert delivery.event.type == "webhook.test"
    assert delivery.test_mode is True


def test_test_send_has_its_delivery_even_when_enabled_at_is_a_hair_ahead(partner):
    # Another host enabled the endpoint with a clock slightly ahead of ours.
    webhook_endpoint_set(partner=partner, url=URL, enabled=True)
    WebhookEndpoint.objects.filter(partner=partner).update(
        enabled_at=timezone.now() + timedelta(seconds=5)
    )
    delivery = webhook_test_send(partner=partner)
    assert delivery.event.type == "webhook.test"
    assert WebhookDelivery.objects.filter(event=delivery.event).count() == 1


# --- resend ----------------------------------------------------------------------


def test_resend_requeues_the_same_delivery(partner, django_capture_on_commit_callbacks):
    webhook_endpoint_set(partner=partner, url=URL, enabled=True)
    event = emit(partner)
    delivery = event.deliveries.get()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        state="abandoned",
        abandoned_reason="client_error",
        attempts=1,
        next_attempt_at=None,
    )
    with django_capture_on_commit_callbacks() as callbacks:
        again = event_resend(event=event)
    assert again.pk == delivery.pk
    again.refresh_from_db()
    assert again.state == "pending"
    assert again.attempts == 1
    assert again.abandoned_reason == ""
    assert again.next_attempt_at <= timezone.now()
    assert len(callbacks) == 1
    assert WebhookDelivery.objects.count() == 1


def test_resend_creates_the_delivery_for_an_event_from_before_enabling(partner):
    event = emit(partner)
    webhook_endpoint_set(partner=partner, url=URL, enabled=True)
    delivery = event_resend(event=event)
    assert delivery.event_id == event.pk
    assert delivery.state == "pending"


def test_resend_of_an_event_purged_meanwhile_is_not_found(partner):
    webhook_endpoint_set(partner=partner, url=URL, enabled=True)
    event = emit(partner)
    WebhookEvent.objects.filter(pk=event.pk).delete()  # the daily purge, racing
    with pytest.raises(JoPayError) as exc:
        event_resend(event=event)
    assert _code(exc) == ErrorCode.NOT_FOUND


def test_resend_with_the_endpoint_off_is_webhook_not_configured(partner):
    webhook_endpoint_set(partner=partner, url=URL, enabled=True)
    delivery = emit(partner).deliveries.get()
    webhook_endpoint_set(partner=partner, enabled=False)
    delivery.refresh_from_db()
    assert delivery.state == "abandoned"
    assert delivery.abandoned_reason == "endpoint_disabled"
    with pytest.raises(JoPayError) as exc:
        webhook_delivery_resend(delivery=delivery)
    assert _code(exc) == ErrorCode.WEBHOOK_NOT_CONFIGURED


def test_a_new_url_sends_what_is_pending_now_not_on_the_old_backoff(
    partner, monkeypatch, django_capture_on_commit_callbacks
):
    from webhooks.services import endpoints

    monkeypatch.setattr(endpoints, "SEND_AT_ONCE", 2)
    webhook_endpoint_set(partner=partner, url=URL, enabled=True)
    backlog = [emit(partner).deliveries.get() for _ in range(3)]
    later = timezone.now() + timedelta(hours=15)  # try 8's wait at the dead URL
    WebhookDelivery.objects.filter(pk__in=[d.pk for d in backlog]).update(
        next_attempt_at=later, enqueued_at=timezone.now(), attempts=7
    )
    with django_capture_on_commit_callbacks() as callbacks:
        webhook_endpoint_set(partner=partner, url=URL)  # the same URL: unchanged
    assert not [c for c in callbacks if c.__name__ == "enqueue_task"]
    backlog[0].refresh_from_db()
    assert backlog[0].next_attempt_at == later
    with django_capture_on_commit_callbacks() as callbacks:
        webhook_endpoint_set(partner=partner, url=URL + "/v2")
    # D24: due now; the oldest two are put on the broker on commit, the rest
    # left to the sweeper's next tick; tries count on as before.
    assert len([c for c in callbacks if c.__name__ == "enqueue_task"]) == 2
    for delivery in backlog:
        delivery.refresh_from_db()
        assert delivery.next_attempt_at <= timezone.now()
        assert delivery.attempts == 7
    assert [d.enqueued_at is not None for d in backlog] == [True, True, False]


def test_an_old_event_is_kept_while_a_delivery_of_it_is_pending(partner):
    # D36 purges events after 30 days; one resent on day 29 to a receiver that
    # is down was purged under its pending delivery, which then sent nothing.
    webhook_endpoint_set(partner=partner, url=URL, enabled=True)
    event = emit(partner)
    WebhookEvent.objects.filter(pk=event.pk).update(
        created_at=timezone.now() - timedelta(days=31)
    )
    assert events_purge()["events"] == 0
    assert WebhookEvent.objects.filter(pk=event.pk).exists()
    event.deliveries.update(state=WebhookDelivery.State.DELIVERED)
    assert events_purge()["events"] == 1
