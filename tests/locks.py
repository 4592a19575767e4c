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


def held_open(
    fn: Callable[[], object],
) -> tuple[Callable[[], object], threading.Event, threading.Event]:
    """``fn`` run inside a transaction that stays open, the event it sets once
    ``fn`` has run (its locks now held), and the event that lets it commit."""
    reached, release = threading.Event(), threading.Event()

    def run() -> object:
        from django.db import transaction

        with transaction.atomic():
            value = fn()
            reached.set()
            assert release.wait(20), "never released"
        return value

    return run, reached, release


def race(
    first: tuple[str, Callable[[], object]],
    second: tuple[str, Callable[[], object]],
    reached: threading.Event,
    release: threading.Event,
) -> dict[str, object]:
    """Two transactions forced into one interleaving, each on its own thread
    and connection (``db_thread``).

    ``first`` starts and runs until it sets ``reached`` (its locks held, or
    paused part-way), then ``second`` starts and runs until it finishes or
    waits on a lock; ``results["<second> waited"]`` records which (True: it
    waited). Then ``release`` lets ``first`` go on and both are joined. Each
    outcome is ``results[name]`` (see ``db_thread``).
    """
    (first_name, first_fn), (second_name, second_fn) = first, second
    results: dict[str, object] = {}
    pids: dict[str, int] = {}
    one = db_thread(first_name, first_fn, results, pids)
    one.start()
    try:
        assert reached.wait(20), results
        two = db_thread(second_name, second_fn, results, pids)
        two.start()
        wait_until_blocked(two, pids, second_name)
        results[f"{second_name} waited"] = two.is_alive()
    finally:
        release.set()
    one.join(20)
    two.join(20)
    return results


def race_held(
    first: tuple[str, Callable[[], object]], second: tuple[str, Callable[[], object]]
) -> dict[str, object]:
    """``race`` where ``first`` holds its transaction open after running its
    function (``held_open``) until ``second`` has finished or waits."""
    name, fn = first
    run, reached, release = held_open(fn)
    return race((name, run), second, reached, release)
