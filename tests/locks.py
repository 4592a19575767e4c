"""For tests that force an interleaving of two PostgreSQL transactions."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import psycopg
from django.db import connection

from jopay_project.errors import JoPayError


def waiting_on_a_lock(pid: int) -> bool:
    """Whether backend ``pid`` is waiting on a lock now.

    Asked on a connection of its own, in autocommit: inside a transaction
    ``pg_stat_activity`` may answer from a snapshot taken when it was first read.
    """
    with psycopg.connect(**connection.get_connection_params(), autocommit=True) as c:
        row = c.execute(
            "SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = %s",
            [pid],
        ).fetchone()
    return bool(row and row[0])


def wait_until_blocked(
    thread: threading.Thread, pids: dict[str, int], name: str, timeout: float = 10
) -> None:
    """Return once ``thread`` (whose backend pid it records as ``pids[name]``)
    has finished or is waiting on a lock; fail the test after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while thread.is_alive() and not (name in pids and waiting_on_a_lock(pids[name])):
        assert time.monotonic() < deadline, f"{name} neither finished nor waited"
        time.sleep(0.01)


def db_thread(
    name: str, fn: Callable[[], object], results: dict, pids: dict[str, int]
) -> threading.Thread:
    """A thread running ``fn`` on its own database connection.

    Before ``fn`` it records its backend pid as ``pids[name]`` (for
    ``wait_until_blocked``); ``results[name]`` gets what ``fn`` returned, the
    code of a ``JoPayError``, or any other exception (for the test's
    assertions to report). The connection is closed when it ends.
    """

    def target() -> None:
        try:
            connection.ensure_connection()
            pids[name] = connection.connection.info.backend_pid
            results[name] = fn()
        except JoPayError as exc:
            results[name] = exc.code
        except Exception as exc:
            results[name] = exc
        finally:
            connection.close()

    return threading.Thread(target=target, name=name)
