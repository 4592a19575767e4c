"""A broker that accepts connections but never answers must not hold a web worker.

``enqueue_on_commit`` publishes inside the request after the commit. Redis
paused, failing over, or cut off on an open connection used to block that
publish for ever, so each such request held its gunicorn worker until
gunicorn killed it (a 502 for saved work; two hung requests and the site
stops answering). With the broker's socket timeouts and a short publish retry
(settings, D24/D30) the publish fails within seconds; the database-side
safety nets (outbox sweeper, proof re-check) find the work anyway.
"""

from __future__ import annotations

import socket
import threading
import time

import pytest
from celery import Celery
from django.db import transaction
from kombu.exceptions import OperationalError

from jopay_project import tasks

# Worst case with the settings: connect, then two reads of at most
# socket_timeout each (the first try and one retry), plus slack.
BOUND_SECONDS = 15


@pytest.fixture
def silent_broker():
    """A TCP listener that accepts every connection and never writes a byte."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                continue
            held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def test_a_publish_to_a_silent_broker_fails_within_seconds(settings, silent_broker):
    app = Celery("hang-probe", set_as_current=False)
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.conf.broker_url = silent_broker
    started = time.monotonic()
    with pytest.raises(OperationalError):
        app.send_task("webhooks.deliver", args=("x",))
    assert time.monotonic() - started < BOUND_SECONDS


def _noop(_n: int) -> None:
    pass


@pytest.fixture
def silent_app(settings, silent_broker):
    app = Celery("hang-probe-tasks", set_as_current=False)
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.conf.broker_url = silent_broker
    yield app
    tasks._broker_down_until = 0.0  # the next test starts with a healthy broker


@pytest.mark.django_db(transaction=True)
def test_one_failed_publish_spares_the_hooks_after_it(silent_app, caplog):
    # Three hooks in one transaction (a proof POST has two, an expiry batch up
    # to 500): each paid the ~5 s timeout in a row before the back-off.
    probe = silent_app.task(name="probe.noop", shared=False)(_noop)
    started = time.monotonic()
    with transaction.atomic():
        for n in range(3):
            tasks.enqueue_on_commit(probe, n)
    elapsed = time.monotonic() - started
    assert elapsed < BOUND_SECONDS  # one timeout, not three
    # The first one tried and failed, the two after it were skipped: all
    # three are logged as not published.
    skipped = [r for r in caplog.records if "not published" in r.getMessage()]
    assert len(skipped) == 3


@pytest.mark.django_db(transaction=True)
def test_publishing_is_tried_again_after_the_back_off(silent_app, monkeypatch):
    sent: list[tuple] = []
    probe = silent_app.task(name="probe.sent", shared=False)(_noop)
    monkeypatch.setattr(probe, "apply_async", lambda args, **kw: sent.append(args))
    tasks._broker_down_until = time.monotonic() + tasks.BROKER_BACKOFF_SECONDS
    with transaction.atomic():
        tasks.enqueue_on_commit(probe, 1)
    assert sent == []  # still backing off
    tasks._broker_down_until = time.monotonic() - 1
    with transaction.atomic():
        tasks.enqueue_on_commit(probe, 2)
    assert sent == [(2,)]


@pytest.fixture
def refused_app(settings):
    """An app whose broker refuses connections: Redis stopped (OPERATIONS.md)."""
    from tests.live import free_port

    app = Celery("refused-probe", set_as_current=False)
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.conf.broker_url = f"redis://127.0.0.1:{free_port()}/0"
    return app


@pytest.mark.django_db(transaction=True)
def test_the_first_failed_publish_is_the_one_line_operations_md_names(
    refused_app, caplog
):
    # The first publish of an outage went to Django's robust on_commit, which
    # logged "Error calling enqueue_on_commit.<locals>.enqueue_task …" with a
    # 170-line traceback; only the later ones said what OPERATIONS.md tells
    # the operator to look for.
    probe = refused_app.task(name="probe.refused", shared=False)(_noop)
    with transaction.atomic():
        tasks.enqueue_on_commit(probe, 7)
    records = [r for r in caplog.records if r.levelno >= 30]
    assert [r.name for r in records] == ["jopay.tasks"]
    (record,) = records
    assert record.levelname == "ERROR"  # an outage begins: worth an alert
    assert record.exc_info is None
    message = record.getMessage()
    assert message.startswith("broker unavailable: probe.refused(7,) not published")
    assert "picked up by its sweeper" in message
    assert "Connection refused" in message
