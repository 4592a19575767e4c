"""Beat's ticks are not starved by a backlog (D24, D30).

A burst of deliveries or proof checks deeper than a tick's expiry made every
tick expire unread while they shared one queue: the chain watcher, the retry
sweep and request expiry stopped until the backlog drained. Ticks now have a
queue of their own, which the one worker command consumes beside the other.
"""

from __future__ import annotations

import time

import pytest
from django.conf import settings

from jopay_project.celery import app
from tests.payments.conftest import make_request

BACKLOG = 3000


def test_every_ticked_task_is_routed_to_the_periodic_queue_and_nothing_else_is():
    ticked = {entry["task"] for entry in app.conf.beat_schedule.values()}
    route = app.amqp.router.route
    for name in ticked:
        assert route({}, name)["queue"].name == settings.CELERY_PERIODIC_QUEUE, name
    for name in (
        "webhooks.deliver",
        "payments.verify_proof",
        "payments.rescan_request",
    ):
        assert route({}, name)["queue"].name == settings.CELERY_TASK_DEFAULT_QUEUE


def test_a_worker_started_without_q_consumes_both_queues():
    # D30's worker command names no queue: it must not leave the ticks unread.
    assert set(app.amqp.queues) == {
        settings.CELERY_TASK_DEFAULT_QUEUE,
        settings.CELERY_PERIODIC_QUEUE,
    }


@pytest.mark.live
def test_a_tick_runs_ahead_of_a_backlog(celery_worker, merchant):
    due = make_request(merchant, expires_in=-1)
    app.control.purge()  # what earlier tests left queued with no worker
    with app.producer_or_acquire() as producer:
        for _ in range(BACKLOG):  # cheap messages, as a burst of deliveries
            app.send_task("celery.accumulate", args=(1,), producer=producer)
        # Expires long after the backlog would drain: the ordering is what counts.
        app.send_task("payments.expire_due_requests", expires=120, producer=producer)
    with app.connection_for_read() as conn:
        redis = conn.default_channel.client
        assert redis.llen(settings.CELERY_TASK_DEFAULT_QUEUE) >= BACKLOG

        celery_worker()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            due.refresh_from_db(fields=["status"])
            if due.status == "expired":
                break
            time.sleep(0.02)
        left = redis.llen(settings.CELERY_TASK_DEFAULT_QUEUE)
    assert due.status == "expired"
    # The tick ran while most of the backlog still waited (one queue: after all of it).
    assert left > BACKLOG // 2, left
