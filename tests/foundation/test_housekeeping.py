"""Expired sessions and database-cache rows are deleted on a schedule.

Neither Django store deletes what expired by itself: every portal or admin
sign-in left a ``django_session`` row for good, and on the embedded stack
(D30) every rate-limit window left one ``jopay_cache`` row per caller and
limit until the table held 1 000 000 rows, each write counting the whole
table meanwhile.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from celery.schedules import crontab
from django.contrib.sessions.models import Session
from django.core.cache import caches
from django.core.management import call_command
from django.db import connection
from django.test import RequestFactory
from django.utils import timezone

from jopay_project import ratelimits
from jopay_project.celery import app
from jopay_project.housekeeping import (
    clear_expired_sessions_task,
    purge_expired_cache_entries_task,
)

TABLE = "jopay_cache_test_housekeeping"


def _session(key: str, expires_in: timedelta) -> None:
    Session.objects.create(
        session_key=key, session_data="", expire_date=timezone.now() + expires_in
    )


@pytest.mark.django_db
def test_expired_sessions_are_deleted_and_live_ones_kept():
    _session("expired" + "x" * 25, -timedelta(seconds=1))
    _session("old" + "y" * 29, -timedelta(days=30))
    _session("live" + "z" * 28, timedelta(hours=1))

    assert clear_expired_sessions_task() == 2

    assert list(Session.objects.values_list("session_key", flat=True)) == [
        "live" + "z" * 28
    ]


@pytest.fixture
def database_cache(settings):
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": TABLE,
            "OPTIONS": {"MAX_ENTRIES": 1_000_000},  # as settings.py has it
        }
    }
    call_command("createcachetable", TABLE)
    caches["default"].clear()
    assert ratelimits._redis_client() is None
    yield
    caches["default"].clear()


def _rows() -> int:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {TABLE}")  # noqa: S608 (a constant)
        return cursor.fetchone()[0]


@pytest.mark.django_db(transaction=True)
def test_expired_rate_limit_counters_leave_the_database_cache(database_cache):
    request = RequestFactory().get("/")
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        for _ in range(5):  # one counter row per window
            ratelimits.hit(request, "requests.list", "key:housekeeping")
            clock.shift(timedelta(minutes=1))
        assert _rows() == 5
        caches["default"].set("live", 1, timeout=3600)

        assert purge_expired_cache_entries_task() >= 4
        # The current window's counter and the live entry stay.
        assert _rows() <= 2
        assert caches["default"].get("live") == 1
        usage = ratelimits.hit(request, "requests.list", "key:housekeeping")
        assert not usage.exceeded


def test_both_purges_are_scheduled_and_registered():
    app.loader.import_default_modules()
    for task, interval in (
        (clear_expired_sessions_task, "day"),
        (purge_expired_cache_entries_task, "hour"),
    ):
        assert task.name in app.tasks
        entries = [
            conf
            for conf in app.conf.beat_schedule.values()
            if conf["task"] == task.name
        ]
        assert len(entries) == 1, task.name
        schedule = entries[0]["schedule"]
        assert isinstance(schedule, crontab)
        assert len(schedule.minute) == 1
        assert len(schedule.hour) == (1 if interval == "day" else 24), task.name
