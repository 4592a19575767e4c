"""``make test`` runs the suite on pytest-xdist workers; each needs its own Redis
database (jopay_project/test_settings.py): every test empties its database
first, and live Celery workers must never take another worker's tasks."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.live import ROOT

READ_SETTINGS = (
    "import django, os; django.setup(); from django.conf import settings; "
    "print(settings.REDIS_URL, settings.CELERY_BROKER_URL, "
    "settings.CACHES['default']['LOCATION'], os.environ['REDIS_URL'])"
)


def _settings_redis(redis_url: str, **env: str) -> list[str]:
    child = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTEST_XDIST_WORKER", "JOPAY_TEST_REDIS_WORKER")
    }
    child.update(
        DJANGO_SETTINGS_MODULE="jopay_project.test_settings",
        REDIS_URL=redis_url,
        **env,
    )
    out = subprocess.run(
        [sys.executable, "-c", READ_SETTINGS],
        cwd=ROOT,
        env=child,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return out.stdout.split()


@pytest.mark.parametrize(
    ("worker", "base", "expected"),
    [
        ("gw0", "redis://127.0.0.1:6379/15", "redis://127.0.0.1:6379/15"),
        ("gw2", "redis://127.0.0.1:6379/15", "redis://127.0.0.1:6379/13"),
        ("gw1", "redis://127.0.0.1:6379", "redis://127.0.0.1:6379/15"),
        ("gw3", "redis://:pw@127.0.0.1:6379/2", "redis://:pw@127.0.0.1:6379/15"),
    ],
)
def test_each_worker_gets_its_own_redis_database(worker, base, expected):
    got = _settings_redis(base, PYTEST_XDIST_WORKER=worker)
    # The cache (emptied before every test), the broker and what a child
    # process inherits all use the worker's database.
    assert got[0] == expected
    assert got[3] == expected
    assert all(url.startswith(expected) for url in got[1:3])


def test_a_process_started_by_a_worker_keeps_its_database():
    """A gunicorn or Celery child of worker gw2 inherits the already-moved URL
    and the marker: moving it again would put the child on gw4's database."""
    got = _settings_redis(
        "redis://127.0.0.1:6379/13",
        PYTEST_XDIST_WORKER="gw2",
        JOPAY_TEST_REDIS_WORKER="gw2",
    )
    assert got[0] == "redis://127.0.0.1:6379/13"


def test_without_xdist_redis_url_is_used_as_it_is():
    got = _settings_redis("redis://127.0.0.1:6379/15")
    assert got[0] == "redis://127.0.0.1:6379/15"
