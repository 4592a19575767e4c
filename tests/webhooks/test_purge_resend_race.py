"""The D36 purge never takes an event from under a resend committed meanwhile (D24).

The purge read the ids of old events without a pending delivery, then deleted
them: a resend committed between the two (the portal's or the admin's) made a
delivery pending again, and the delete still took its event, so the resend
was acknowledged and then ended ``event_purged``, never sent. The resend is
forced in between, on another connection, as another process would commit it.
An event past its 30 days cannot be resent (D36), so the race is at the
boundary: the event is within them for the resend, past them for a purge
that runs a little later (``PURGE_LATER``).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.portal.test_admin_readonly import committed_elsewhere
from webhooks.models import WebhookDelivery, WebhookEvent
from webhooks.services import (
    event_resend,
    webhook_delivery_resend,
    webhook_endpoint_set,
)
from webhooks.services import purge as purge_module
from webhooks.services.outbox import events_purge

from .conftest import emit

pytestmark = pytest.mark.django_db(transaction=True)
URL = "https://127.0.0.1:9/hook"
PURGE_LATER = timedelta(hours=2)


def _old_event_with_settled_delivery(partner) -> tuple[WebhookEvent, WebhookDelivery]:
    webhook_endpoint_set(partner=partner, url=URL, enabled=True)
    event = emit(partner)
    WebhookEvent.objects.filter(pk=event.pk).update(
        created_at=timezone.now() - timedelta(days=30) + timedelta(hours=1)
    )
    event.deliveries.update(state=WebhookDelivery.State.FAILED, next_attempt_at=None)
    return event, event.deliveries.get()


def _before_the_event_batch_is_acted_on(monkeypatch, work) -> None:
    original = purge_module._in_batches

    def in_batches(qs, order_by, act, **kwargs):
        if qs.model is not WebhookEvent:
            return original(qs, order_by, act, **kwargs)

        def act_after_work(ids):
            committed_elsewhere(work)  # after the purge read the ids
            return act(ids)

        return original(qs, order_by, act_after_work, **kwargs)

    monkeypatch.setattr(purge_module, "_in_batches", in_batches)


def test_a_delivery_resent_while_the_purge_runs_keeps_its_event(partner, monkeypatch):
    event, delivery = _old_event_with_settled_delivery(partner)
    _before_the_event_batch_is_acted_on(
        monkeypatch, lambda: webhook_delivery_resend(delivery=delivery)
    )

    counts = events_purge(now=timezone.now() + PURGE_LATER)

    delivery.refresh_from_db()
    assert delivery.state == WebhookDelivery.State.PENDING
    assert delivery.event_id == event.pk  # still something to send
    assert WebhookEvent.objects.filter(pk=event.pk).exists()
    assert counts["events"] == 0


def test_an_event_resent_while_the_purge_runs_is_kept(partner, monkeypatch):
    event, delivery = _old_event_with_settled_delivery(partner)
    _before_the_event_batch_is_acted_on(monkeypatch, lambda: event_resend(event=event))

    events_purge(now=timezone.now() + PURGE_LATER)

    delivery.refresh_from_db()
    assert (delivery.state, delivery.event_id) == (
        WebhookDelivery.State.PENDING,
        event.pk,
    )


def test_a_settled_old_event_is_still_purged(partner):
    _, delivery = _old_event_with_settled_delivery(partner)
    assert events_purge(now=timezone.now() + PURGE_LATER)["events"] == 1
    delivery.refresh_from_db()
    assert delivery.event_id is None
