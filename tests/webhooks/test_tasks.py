"""Task names, limits and the beat entries that point at them (D24, D36)."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from jopay_project.celery import app
from webhooks.models import WebhookDelivery, WebhookEvent
from webhooks.tasks import purge_old_events_task, send_due_deliveries_task

from .conftest import emit


def test_tasks_are_registered_under_the_scheduled_names():
    app.loader.import_default_modules()
    scheduled = {entry["task"] for entry in app.conf.beat_schedule.values()}
    for name in ("webhooks.send_due_deliveries", "webhooks.purge_old_events"):
        assert name in scheduled
        assert name in app.tasks
    deliver = app.tasks["webhooks.deliver"]
    assert deliver.acks_late is True
    assert (deliver.soft_time_limit, deliver.time_limit) == (20, 30)


def test_sweeper_task_enqueues_due_rows_once(partner, endpoint_for):
    endpoint_for(partner)
    delivery = emit(partner).deliveries.get()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        enqueued_at=timezone.now() - timedelta(minutes=5)
    )
    assert send_due_deliveries_task.run() == 1
    assert send_due_deliveries_task.run() == 0


def test_purge_task_deletes_events_older_than_30_days(partner):
    old = emit(partner)
    WebhookEvent.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(days=30, seconds=1)
    )
    keep = emit(partner)
    assert purge_old_events_task.run()["events"] == 1
    assert list(WebhookEvent.objects.values_list("pk", flat=True)) == [keep.pk]


def test_a_sweep_that_read_before_another_committed_does_not_enqueue_again(
    partner, endpoint_for, monkeypatch
):
    # Two sweeps read the same due rows; the first marks and commits them while
    # the second is between its read and its lock. The second must re-check the
    # conditions on the locked rows, not enqueue them a second time.
    from contextlib import contextmanager

    from django.db import transaction as real_transaction

    from webhooks.services import dispatch

    endpoint_for(partner)
    delivery = emit(partner).deliveries.get()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        enqueued_at=timezone.now() - timedelta(minutes=5)
    )

    class OtherSweepFirst:
        @contextmanager
        def atomic(self):
            # The other sweep's mark, committed just before this one locks.
            WebhookDelivery.objects.filter(pk=delivery.pk).update(
                enqueued_at=timezone.now()
            )
            with real_transaction.atomic():
                yield

    monkeypatch.setattr(dispatch, "transaction", OtherSweepFirst())
    assert dispatch.due_delivery_ids() == []


def test_a_database_blip_retries_the_send_in_seconds_not_after_the_sweep(monkeypatch):
    """A restart or failover turned every queued send into a failed task with a
    traceback, sent again only when the sweeper's 60 s mark came round. Now the
    task is tried again after DATABASE_RETRY_SECONDS, up to DATABASE_RETRIES
    times; other errors are not retried here."""
    from django.db import OperationalError

    from webhooks import tasks

    calls = []

    def flaky(*, delivery_id):
        calls.append(delivery_id)
        if len(calls) < 3:
            raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(tasks.delivery, "deliver", flaky)
    deliver = app.tasks["webhooks.deliver"]
    assert (deliver.max_retries, deliver.default_retry_delay) == (3, 5)
    assert deliver.apply(args=("d-1",)).successful()
    assert calls == ["d-1"] * 3

    def broken(*, delivery_id):
        calls.append(delivery_id)
        raise ValueError("a bug")

    monkeypatch.setattr(tasks.delivery, "deliver", broken)
    calls.clear()
    assert deliver.apply(args=("d-2",)).failed()
    assert calls == ["d-2"]
