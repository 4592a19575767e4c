"""Handing a recovered endpoint on while the partner switches it off (D24).

When an attempt that held a failing endpoint's one-attempt lease gets a fast
2xx, the worker marks every due row of the endpoint and enqueues it
(``dispatch.endpoint_next_ids``): one UPDATE over many rows, which locks them
in primary key order. A switch-off (or a URL change) locks the endpoint, then
its pending rows in the order of the endpoint's due index. Both at once
deadlocked as soon as a third party (a claim, a resend) held one row they
both wanted, and PostgreSQL aborted one: the partner's switch-off answered
500, or the hand-on was lost. Forced interleaving on three PostgreSQL
connections; on a big table both statements use their indexes, here the
planner is told to (``enable_seqscan`` off).
"""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from tests.locks import db_thread, wait_until_blocked
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.services import webhook_endpoint_set
from webhooks.services.dispatch import endpoint_next_ids

from .conftest import emit

pytestmark = pytest.mark.django_db(transaction=True)


def _indexed(fn):
    def run():
        with connection.cursor() as cursor:
            cursor.execute("SET enable_seqscan = off")
        return fn()

    return run


def test_a_hand_on_and_a_switch_off_at_once_both_succeed(partner, settings):
    settings.JOPAY_WEBHOOK_ALLOW_PRIVATE_HOSTS = True
    endpoint = WebhookEndpoint.objects.create(
        partner=partner,
        url="https://hooks.example.com/jopay",
        enabled=True,
        enabled_at=timezone.now() - timedelta(minutes=5),
        secret="a" * 64,
    )
    # Primary key order a < b < c; due order c, b, a.
    now = timezone.now()
    rows = []
    for n, first_hex in enumerate("abc"):
        delivery = emit(partner).deliveries.get()
        pk = uuid.UUID(first_hex * 8 + "-0000-4000-8000-000000000000")
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            id=pk, next_attempt_at=now - timedelta(seconds=n)
        )
        rows.append(pk)
    middle = rows[1]
    held, release = threading.Event(), threading.Event()
    results: dict = {}
    pids: dict[str, int] = {}

    def hold_middle_row():  # a claim or a resend busy with row b
        with transaction.atomic():
            list(WebhookDelivery.objects.select_for_update().filter(pk=middle))
            held.set()
            assert release.wait(20)

    holder = db_thread("holder", hold_middle_row, results, pids)
    holder.start()
    assert held.wait(10)
    hand_on = db_thread(
        "hand_on",
        _indexed(lambda: endpoint_next_ids(endpoint_id=endpoint.pk)),
        results,
        pids,
    )
    hand_on.start()
    wait_until_blocked(hand_on, pids, "hand_on")
    switch_off = db_thread(
        "switch_off",
        _indexed(lambda: webhook_endpoint_set(partner=partner, enabled=False)),
        results,
        pids,
    )
    switch_off.start()
    wait_until_blocked(switch_off, pids, "switch_off")
    release.set()
    for thread in (holder, hand_on, switch_off):
        thread.join(30)
        assert not thread.is_alive()

    for name in ("hand_on", "switch_off"):
        assert not isinstance(results[name], Exception), results
    assert not WebhookEndpoint.objects.get(pk=endpoint.pk).enabled
    assert set(WebhookDelivery.objects.values_list("state", flat=True)) == {"abandoned"}
