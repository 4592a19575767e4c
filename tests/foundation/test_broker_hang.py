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
from kombu.exceptions import OperationalError

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
    app = Celery("hang-probe")
    app.config_from_object("django.conf:settings", namespace="CELERY")
    app.conf.broker_url = silent_broker
    started = time.monotonic()
    with pytest.raises(OperationalError):
        app.send_task("webhooks.deliver", args=("x",))
    assert time.monotonic() - started < BOUND_SECONDS
