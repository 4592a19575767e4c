"""Celery beat refreshes FX rates as it starts (D14), and starts outside `make run`.

Beat runs an interval task first one interval after it starts: without a send
at start-up a fresh deploy had no rate, so every create answered
``fx_unavailable``, for 30 minutes.
"""

from __future__ import annotations

import json
import os
import subprocess
import time

import pytest
from celery.signals import beat_init

from jopay_project import celery as jopay_celery
from payments.tasks import refresh_fx_rates_task
from tests.live import BIN, ROOT, stop


@pytest.fixture
def sent(monkeypatch):
    calls: list[tuple] = []
    monkeypatch.setattr(
        jopay_celery.app, "send_task", lambda *a, **kw: calls.append((a, kw))
    )
    return calls


def test_beat_start_sends_the_fx_refresh_once(sent):
    beat_init.send(sender=None)
    assert sent == [(("payments.refresh_fx_rates",), {})]


def test_the_start_up_send_names_the_registered_task():
    schedule = jopay_celery.app.conf.beat_schedule["refresh-fx-rates"]
    assert schedule["task"] == refresh_fx_rates_task.name


def test_every_periodic_tick_expires_within_its_interval():
    # While no worker runs, beat keeps queueing; a worker coming back must not
    # work through hours of stale ticks ahead of webhooks and proof checks.
    from celery.beat import ScheduleEntry
    from celery.schedules import crontab

    for name, conf in jopay_celery.app.conf.beat_schedule.items():
        entry = ScheduleEntry(name=name, app=jopay_celery.app, **conf)
        expires = entry.options.get("expires")
        schedule = entry.schedule
        if isinstance(schedule, crontab):  # one minute an hour, or one time a day
            assert len(schedule.minute) == 1, name
            interval = 3600.0 if len(schedule.hour) == 24 else 86400.0
        else:
            interval = schedule.run_every.total_seconds()
        assert expires is not None, name
        assert 0 < expires <= interval, (name, expires, interval)


def test_a_broker_outage_at_start_up_does_not_raise(monkeypatch, caplog):
    def down(*args, **kwargs):
        raise ConnectionError("broker down")

    monkeypatch.setattr(jopay_celery.app, "send_task", down)
    jopay_celery.refresh_fx_rates_on_beat_start(sender=None)
    assert "could not send payments.refresh_fx_rates" in caplog.text


def _queued_tasks(queue) -> list[str]:
    names = []
    for path in queue.glob("*.msg"):
        try:
            names.append(json.loads(path.read_text())["headers"]["task"])
        except (OSError, ValueError, KeyError):
            continue  # being written
    return names


def test_beat_outside_make_run_starts_and_queues_the_fx_refresh(tmp_path):
    """A real `celery beat` on the embedded file-system transport, with a data
    folder nobody created: it starts and queues the refresh at once."""
    data = tmp_path / "fresh" / "data"
    environ = {
        key: value
        for key, value in os.environ.items()
        if key in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")
    }
    environ.update(
        DJANGO_SETTINGS_MODULE="jopay_project.settings",
        DEBUG="1",
        JOPAY_DATA_DIR=str(data),
        PYTHONPATH=str(ROOT),
    )
    log = tmp_path / "beat.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(BIN / "celery"), "-A", "jopay_project", "beat", "--loglevel", "INFO"],
            cwd=ROOT,
            env=environ,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 60
        queued: list[str] = []
        while proc.poll() is None and time.monotonic() < deadline:
            queued = _queued_tasks(data / "celery" / "queue")
            if queued:
                break
            time.sleep(0.2)
        text = log.read_text()
        assert proc.poll() is None, text[-3000:]
        assert queued == ["payments.refresh_fx_rates"], text[-3000:]
        assert (data / "celerybeat-schedule").exists() or list(
            data.glob("celerybeat-schedule*")
        )
    finally:
        stop(proc, timeout=15)


def test_a_settings_module_that_imports_ours_loads(tmp_path):
    # An operator's settings (``from jopay_project.settings import *``, as
    # bench.baseline's) made Celery read Django's settings while they were
    # half-imported: gunicorn's workers failed to boot.
    (tmp_path / "site_settings.py").write_text(
        "from jopay_project.settings import *  # noqa: F403\n"
    )
    result = subprocess.run(
        [
            str(BIN / "python"),
            "-c",
            "import django; django.setup()\n"
            "from jopay_project.celery import app\n"
            "print(app.amqp.router.route({}, 'payments.watch_chains')['queue'].name)",
        ],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "site_settings",
            "PYTHONPATH": f"{tmp_path}:{ROOT}",
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "periodic"
