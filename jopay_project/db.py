"""Database helpers shared by services and views."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from typing import TypeVar

from django.db import OperationalError

T = TypeVar("T")

# PostgreSQL's "try the transaction again" answers: deadlock, serialization.
RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})


def retry_transient(fn: Callable[[], T], *, attempts: int = 3) -> T:
    """Run ``fn`` (a whole transaction) again when PostgreSQL aborts it as a
    deadlock victim or a serialization failure; any other error propagates.

    ``fn`` must be its own outermost transaction, so a retry starts clean.
    """
    for attempt in range(1, attempts + 1):
        try:
            return fn()
        except OperationalError as exc:
            sqlstate = getattr(exc.__cause__, "sqlstate", None)
            if sqlstate not in RETRYABLE_SQLSTATES or attempt == attempts:
                raise
            time.sleep(random.uniform(0.005, 0.02) * attempt)  # noqa: S311 (jitter)
    raise AssertionError("unreachable")  # pragma: no cover
