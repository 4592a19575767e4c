"""For tests that force an interleaving of two PostgreSQL transactions."""

from __future__ import annotations

import psycopg
from django.db import connection


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
