"""Enqueueing a task after the caller's transaction commits, without ever failing it.

``task.delay_on_commit`` registers a plain ``on_commit`` callback: when the
broker is down the publish raises after the commit, and the caller (an API
view, the chain watcher) answers 500 or stops although its work was saved.
Every caller here has a database-side safety net that finds the work again
(the outbox sweeper, the proof re-check beat), so a failed publish is logged
and left to it.
"""

from __future__ import annotations

from typing import Any

from celery import Task
from django.db import transaction


def enqueue_on_commit(
    task: Task, *args: Any, countdown: float | None = None, using: str | None = None
) -> None:
    """``task.apply_async(args, countdown=…)`` once the current transaction commits.

    ``robust``: an exception from the broker is logged by Django, never raised
    into the committed caller. Outside a transaction it runs at once (robustly).
    """

    # A named function, not functools.partial: Django's robust on_commit logs
    # the failure with ``func.__qualname__``, which a partial lacks.
    def enqueue_task() -> None:
        task.apply_async(args, countdown=countdown)

    # What it will send, for logs and for tests that capture on_commit hooks.
    enqueue_task.task_name = task.name  # type: ignore[attr-defined]
    enqueue_task.args = args  # type: ignore[attr-defined]
    enqueue_task.countdown = countdown  # type: ignore[attr-defined]
    transaction.on_commit(enqueue_task, using=using, robust=True)
