"""An event written while the webhook endpoint is being switched on or off (D24).

Each event gets a pending delivery iff the endpoint was enabled, at or before
the event's time, when the event committed: the emit and the switch must not
each miss the other's uncommitted write. Forced interleavings on two
PostgreSQL connections; the second party proceeds only once the first waits
on a lock or has finished.
"""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection, transaction
from django.utils import timezone

from tests.locks import waiting_on_a_lock
from webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent
from webhooks.services import event_emit, webhook_endpoint_set
from webhooks.services import events as events_module

pytestmark = pytest.mark.django_db(transaction=True)
URL = "https://hooks.example.com/jopay"


def _until_done_or_waiting(thread: threading.Thread, pid: list[int]) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if not thread.is_alive() or (pid and waiting_on_a_lock(pid[0])):
            return
        time.sleep(0.01)
    raise AssertionError("the second transaction neither finished nor waited")


def _thread(target, pid: list[int], errors: list):
    def run():
        try:
            connection.ensure_connection()
            pid.append(connection.connection.info.backend_pid)
            target()
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    return threading.Thread(target=run)


def _emit(partner):
    with transaction.atomic():
        event_emit(partner=partner, test_mode=False, type="webhook.test", data={"n": 1})


def _emit_while_uncommitted(partner, switch) -> None:
    """Run ``switch`` in a transaction held open; emit an event meanwhile, on
    another connection; commit the switch once the emit waits or is done."""
    uncommitted, commit = threading.Event(), threading.Event()
    errors: list = []

    def switch_and_hold():
        with transaction.atomic():
            switch()
            uncommitted.set()
            assert commit.wait(20)

    switcher = _thread(switch_and_hold, [], errors)
    switcher.start()
    assert uncommitted.wait(10)
    emit_pid: list[int] = []
    emitter = _thread(lambda: _emit(partner), emit_pid, errors)
    emitter.start()
    _until_done_or_waiting(emitter, emit_pid)
    commit.set()
    switcher.join(20)
    emitter.join(20)
    assert not errors, errors


def test_an_event_written_while_the_endpoint_is_being_enabled_is_not_lost(partner):
    WebhookEndpoint.objects.create(partner=partner, url=URL, enabled=False)

    _emit_while_uncommitted(
        partner, lambda: webhook_endpoint_set(partner=partner, enabled=True)
    )

    endpoint = WebhookEndpoint.objects.get(partner=partner)
    event = WebhookEvent.objects.get(partner=partner)
    assert endpoint.enabled
    assert endpoint.enabled_at <= event.created_at
    # Written after the enable's time, committed after it: delivered (D24).
    assert WebhookDelivery.objects.filter(event=event).count() == 1


def test_an_event_written_while_the_endpoint_is_being_disabled_is_abandoned(
    partner, monkeypatch
):
    WebhookEndpoint.objects.create(
        partner=partner,
        url=URL,
        enabled=True,
        enabled_at=timezone.now(),
        secret="a" * 64,
    )
    # The emit stops between choosing the endpoint and writing its delivery.
    chosen, resume = threading.Event(), threading.Event()
    original = events_module._delivery_create

    def delivery_create(*, event, endpoint):
        chosen.set()
        assert resume.wait(20)
        return original(event=event, endpoint=endpoint)

    monkeypatch.setattr(events_module, "_delivery_create", delivery_create)
    errors: list = []
    emitter = _thread(lambda: _emit(partner), [], errors)
    emitter.start()
    assert chosen.wait(10)
    disable_pid: list[int] = []
    disabler = _thread(
        lambda: webhook_endpoint_set(partner=partner, enabled=False),
        disable_pid,
        errors,
    )
    disabler.start()
    _until_done_or_waiting(disabler, disable_pid)
    resume.set()
    emitter.join(20)
    disabler.join(20)
    assert not errors, errors

    assert not WebhookEndpoint.objects.get(partner=partner).enabled
    # The disable abandons every pending delivery (D24): none is left pending
    # for a switched-off endpoint, to go out if it is switched on again.
    assert not WebhookDelivery.objects.filter(
        state=WebhookDelivery.State.PENDING
    ).exists()


def test_an_event_written_while_the_first_endpoint_is_being_created_is_not_lost(
    partner, settings
):
    """No endpoint row yet: the emit had nothing to lock, read "no endpoint"
    and committed without a delivery, although the first configuration's
    enable came before the event's time."""
    settings.JOPAY_WEBHOOK_ALLOW_PRIVATE_HOSTS = True
    assert not WebhookEndpoint.objects.filter(partner=partner).exists()

    _emit_while_uncommitted(
        partner,
        lambda: webhook_endpoint_set(
            partner=partner, url="https://127.0.0.1:9/hook", enabled=True
        ),
    )

    endpoint = WebhookEndpoint.objects.get(partner=partner)
    event = WebhookEvent.objects.get(partner=partner)
    assert endpoint.enabled_at <= event.created_at
    assert WebhookDelivery.objects.filter(event=event).count() == 1
