"""The D36 purge works in committed batches, so no backlog is too big for it."""

from __future__ import annotations

import time
from datetime import timedelta

from django.utils import timezone

from jopay_project.celery import app
from webhooks import tasks
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEvent
from webhooks.services.outbox import events_purge

from .conftest import emit

POSTGRES_MAX_PARAMS = 65_535


def _old_events(partner, count: int, *, days: int = 31) -> list[WebhookEvent]:
    when = timezone.now() - timedelta(days=days)
    return WebhookEvent.objects.bulk_create(
        (
            WebhookEvent(
                partner=partner,
                test_mode=False,
                type=WebhookEvent.Type.REQUEST_EXPIRED,
                payload={"event": "request.expired"},
                created_at=when,
            )
            for _ in range(count)
        ),
        batch_size=5000,
    )


def test_purge_of_more_old_events_than_one_statement_can_bind(partner, endpoint_for):
    # One delete() made Django null the deliveries' event in one UPDATE with a
    # parameter per event: PostgreSQL refuses more than 65 535 and the whole
    # purge rolled back, every day (D36).
    endpoint, _ = endpoint_for(partner)
    old = _old_events(partner, POSTGRES_MAX_PARAMS + 1000)
    kept_logs = WebhookDelivery.objects.bulk_create(
        WebhookDelivery(
            event=e,
            endpoint=endpoint,
            partner=partner,
            test_mode=False,
            state="delivered",  # settled: a pending one keeps its event
        )
        for e in old[:3]
    )
    recent = emit(partner)
    counts = events_purge()
    assert counts["events"] == len(old)
    assert counts["done"] is True
    assert list(WebhookEvent.objects.values_list("pk", flat=True)) == [recent.pk]
    # The deliveries outlive their events (logs are kept 90 days).
    assert set(
        WebhookDelivery.objects.filter(pk__in=[d.pk for d in kept_logs]).values_list(
            "event_id", flat=True
        )
    ) == {None}


def _old_delivery_with_answers(partner, endpoint, created_days: int, *answers: int):
    """A delivery created ``created_days`` ago with one answered attempt per
    entry of ``answers`` (days ago); last touched at the latest of them."""
    now = timezone.now()
    delivery = WebhookDelivery.objects.create(
        endpoint=endpoint, partner=partner, test_mode=False, state="delivered"
    )
    for number, days in enumerate(answers, start=1):
        WebhookAttempt.objects.create(
            delivery=delivery,
            number=number,
            started_at=now - timedelta(days=days),
            status_code=200,
            response_body="ok",
        )
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        created_at=now - timedelta(days=created_days),
        updated_at=now - timedelta(days=min(answers)),
    )
    return delivery


def test_purge_batches_events_logs_and_answers(partner, endpoint_for):
    endpoint, _ = endpoint_for(partner)
    _old_events(partner, 5)
    gone = [_old_delivery_with_answers(partner, endpoint, 91, 91) for _ in range(3)]
    # Resent on its event's day 29: its second attempt is 62 days old. It
    # was deleted by its created_at, that attempt with it (D36: 90 days).
    resent = [
        _old_delivery_with_answers(partner, endpoint, 91, 91, 62) for _ in range(5)
    ]
    fresh = _old_delivery_with_answers(partner, endpoint, 60, 60)
    counts = events_purge(batch_size=2)
    assert counts == {
        "events": 5,
        "deliveries": 3,
        "attempts": 3,
        "bodies_cleared": 5,
        "done": True,
    }
    assert not WebhookDelivery.objects.filter(pk__in=[d.pk for d in gone]).exists()
    kept = WebhookAttempt.objects.filter(delivery__in=resent)
    assert sorted(kept.values_list("number", "response_body")) == sorted(
        [(1, ""), (2, "ok")] * 5
    )
    assert fresh.attempt_log.get().response_body == "ok"


def test_purge_starts_no_batch_after_its_deadline(partner):
    _old_events(partner, 3)
    counts = events_purge(batch_size=2, deadline=time.monotonic() - 1)
    assert (counts["events"], counts["done"]) == (0, False)
    assert events_purge(batch_size=2)["events"] == 3


def test_purge_task_is_time_limited_and_queues_the_rest(
    partner, monkeypatch, django_capture_on_commit_callbacks
):
    task = app.tasks["webhooks.purge_old_events"]
    assert task.soft_time_limit is not None
    assert tasks.PURGE_BUDGET_SECONDS < task.soft_time_limit < task.time_limit
    assert task.time_limit < 600  # the broker's visibility timeout
    queued = []
    monkeypatch.setattr(task, "apply_async", lambda *a, **k: queued.append(True))
    _old_events(partner, 3)
    monkeypatch.setattr(tasks, "PURGE_BUDGET_SECONDS", -1)  # out of time at once
    with django_capture_on_commit_callbacks(execute=True):
        assert task.run()["done"] is False
    assert queued == [True]
    monkeypatch.setattr(tasks, "PURGE_BUDGET_SECONDS", 40)
    assert task.run() == {
        "events": 3,
        "deliveries": 0,
        "attempts": 0,
        "bodies_cleared": 0,
        "done": True,
    }
    assert queued == [True]


def test_a_purge_left_unfinished_with_the_broker_down_ends_without_an_error(
    partner, monkeypatch, caplog, django_capture_on_commit_callbacks
):
    """The run's work is saved; queueing the rest raised into the task (a
    failed task and a traceback) when the broker was down."""
    from kombu.exceptions import OperationalError

    from jopay_project import tasks as enqueueing

    task = app.tasks["webhooks.purge_old_events"]

    def broker_down(*args, **kwargs):
        raise OperationalError("Connection refused")

    monkeypatch.setattr(task, "apply_async", broker_down)
    monkeypatch.setattr(enqueueing, "_broker_down_until", 0.0)
    _old_events(partner, 3)
    monkeypatch.setattr(tasks, "PURGE_BUDGET_SECONDS", -1)
    with django_capture_on_commit_callbacks(execute=True):
        assert task.run()["done"] is False
    assert "broker unavailable: webhooks.purge_old_events" in caplog.text
