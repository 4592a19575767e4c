"""Enqueueing a task after the caller's transaction commits, without ever failing it.

``task.delay_on_commit`` registers a plain ``on_commit`` callback: when the
broker is down the publish raises after the commit, and the caller (an API
view, the chain watcher) answers 500 or stops although its work was saved.
Every caller here has a database-side safety net that finds the work again
(the outbox sweeper, the proof re-check beat, the rescan resume), so a failed
publish is logged and left to it.

A broker that is down stays down for a while. After one failed publish this
process skips publishing for ``BROKER_BACKOFF_SECONDS``: a publish to a broker
that accepts connections but never answers costs about 5 s (settings), so an
expiry batch of 500 requests, a proof POST with two hooks or an admin action
over many rows would otherwise pay it once per hook, in a row.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import redis
from celery import Task
from celery.exceptions import Reject
from django.db import transaction
from kombu.exceptions import OperationalError

logger = logging.getLogger("jopay.tasks")

BROKER_BACKOFF_SECONDS = 30.0
# What a publish raises when the broker cannot take it (kombu wraps most).
_BROKER_ERRORS = (OperationalError, OSError, redis.RedisError)
# time.monotonic() before which this process does not try to publish.
_broker_down_until = 0.0


def enqueue_on_commit(
    task: Task, *args: Any, countdown: float | None = None, using: str | None = None
) -> None:
    """``task.apply_async(args, countdown=…)`` once the current transaction commits.

    A broker error is logged here on one line, never raised into the committed
    caller; anything else is logged by Django (``robust``). Outside a
    transaction it runs at once. While the broker is known to be down (a
    publish failed in the last ``BROKER_BACKOFF_SECONDS``), nothing is sent: a
    warning is logged and the safety net picks the work up.
    """

    # A named function, not functools.partial: Django's robust on_commit logs
    # the failure with ``func.__qualname__``, which a partial lacks.
    def enqueue_task() -> None:
        publish_saved(task, *args, countdown=countdown)

    # What it will send, for logs and for tests that capture on_commit hooks.
    enqueue_task.task_name = task.name  # type: ignore[attr-defined]
    enqueue_task.args = args  # type: ignore[attr-defined]
    enqueue_task.countdown = countdown  # type: ignore[attr-defined]
    transaction.on_commit(enqueue_task, using=using, robust=True)


def publish_saved(task: Task, *args: Any, countdown: float | None = None) -> bool:
    """``task.apply_async(args, countdown=…)`` now, for work already saved.

    What ``enqueue_on_commit`` sends, and the publishes a task makes after its
    own writes (a self-scheduled re-check, a webhook retry, an endpoint's
    hand-on): each has a safety net that finds the work in the database, so a
    broker outage is logged on one line (the first of an outage at ERROR),
    never raised: raised, it failed a task whose work was saved, with a
    traceback, and the sweeper sent it anyway. While the broker is known to be
    down nothing is tried (``BROKER_BACKOFF_SECONDS``). True if published.
    """
    if _known_down(task, args):
        return False
    try:
        task.apply_async(args, countdown=countdown)
    except _BROKER_ERRORS as exc:
        _went_down(task, args, exc)
        return False
    return True


def retry_saved(task: Task, *, args: tuple, countdown: float, exc: Exception) -> None:
    """``raise task.retry(args=…, countdown=…, exc=…)`` for a failed try whose
    failure is saved (its safety net finds it too): raises Celery's ``Retry``
    once the retry is published. When the broker cannot take it, logs as
    ``publish_saved`` and returns, and the caller ends normally: Celery turned
    the failed publish into ``Reject``, a failed task with a traceback.
    """
    if _known_down(task, args):
        return
    try:
        retry = task.retry(args=args, countdown=countdown, exc=exc, throw=False)
    except Reject as rejected:
        if not isinstance(rejected.reason, _BROKER_ERRORS):
            raise
        _went_down(task, args, rejected.reason)
        return
    raise retry from None


def _known_down(task: Task, args: tuple) -> bool:
    if time.monotonic() < _broker_down_until:
        logger.warning(
            "broker unavailable: %s%r not published (picked up by its sweeper)",
            task.name,
            args,
        )
        return True
    return False


def _went_down(task: Task, args: tuple, exc: BaseException) -> None:
    global _broker_down_until
    _broker_down_until = time.monotonic() + BROKER_BACKOFF_SECONDS
    # One line, the one OPERATIONS.md names, at ERROR: an outage begins.
    # Re-raised, Django's robust on_commit logged it as "Error calling
    # enqueue_task" with a traceback of 170 lines.
    logger.error(
        "broker unavailable: %s%r not published (picked up by its sweeper): %s: %s",
        task.name,
        args,
        type(exc).__name__,
        exc,
    )
