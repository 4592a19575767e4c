"""For tests that pin which indexes PostgreSQL's planner uses for a query."""

from __future__ import annotations

import json

from django.db import connection


def _nodes(plan: dict) -> list[dict]:
    return [plan, *(n for child in plan.get("Plans", []) for n in _nodes(child))]


def plan_nodes(sql: str) -> list[dict]:
    """Every node of the plan of ``sql``, sequential scans discouraged.

    ``SET LOCAL``: call it inside the test's transaction (``django_db``), so
    the setting ends with it. With sequential scans off, a plan that still
    scans or sorts the whole table has no index that serves it.
    """
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}")
        (raw,) = cursor.fetchone()
    return _nodes((json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"])
