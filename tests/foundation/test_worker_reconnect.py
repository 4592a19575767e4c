"""A worker never gives up on Redis (OPERATIONS.md, "Redis is down").

With Celery's default of 100 reconnect tries, 30 s apart after the first few,
a worker cut off from Redis for 47 minutes exited (drill: Redis stopped at
19:14:27, ``Unrecoverable error: OperationalError('Error 111 connecting …')``
at 20:00:58) and, without a supervisor, webhooks and proof checks stopped for
good even after Redis came back. The interval between tries is kombu's (2 s
growing to 30 s) and cannot be shortened here, so the drill's 47 minutes are
not replayed: the test reads the setting the worker's consumer hands to
``ensure_connection`` (``None``: retry for ever).
"""

from __future__ import annotations

from jopay_project.celery import app


def test_the_worker_retries_the_broker_for_ever():
    assert app.conf.broker_connection_max_retries is None
