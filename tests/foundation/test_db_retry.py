"""retry_transient: a deadlock victim's transaction runs again; other errors don't."""

from __future__ import annotations

import threading

import pytest
from django.db import IntegrityError, connection, transaction

from jopay_project.db import retry_transient


def _lock(name: str) -> None:
    # A transaction-scoped advisory lock, the kind the create path takes (D15).
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(7, hashtext(%s))", [name])


@pytest.mark.django_db(transaction=True)
def test_a_real_deadlock_victim_is_retried_and_both_transactions_finish():
    barrier = threading.Barrier(2)
    tries: list[str] = []
    results: dict[str, str] = {}

    def crossing(first: str, second: str) -> str:
        with transaction.atomic():
            tries.append(first)
            _lock(first)
            if len(tries) <= 2:  # only the first round crosses on purpose
                barrier.wait(timeout=10)
            _lock(second)
        return f"{first}{second}"

    def worker(first: str, second: str) -> None:
        try:
            results[first] = retry_transient(lambda: crossing(first, second))
        finally:
            connection.close()

    threads = [
        threading.Thread(target=worker, args=pair) for pair in (("a", "b"), ("b", "a"))
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results == {"a": "ab", "b": "ba"}
    assert len(tries) == 3  # PostgreSQL picked one victim, which ran again


@pytest.mark.django_db
def test_other_database_errors_are_not_retried():
    calls = []

    def fails():
        calls.append(1)
        raise IntegrityError("not transient")

    with pytest.raises(IntegrityError):
        retry_transient(fails)
    assert calls == [1]
