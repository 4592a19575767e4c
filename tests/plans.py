"""For tests that pin which indexes PostgreSQL's planner uses for a query."""

from __future__ import annotations

import json

import pytest
from django.db import connection


def _nodes(plan: dict) -> list[dict]:
    return [plan, *(n for child in plan.get("Plans", []) for n in _nodes(child))]


def plan_nodes(sql: str, *, off: tuple[str, ...] = ("enable_seqscan",)) -> list[dict]:
    """Every node of the plan of ``sql``, sequential scans discouraged (or
    each planner setting in ``off``).

    ``SET LOCAL``: call it inside the test's transaction (``django_db``), so
    the setting ends with it. With sequential scans off, a plan that still
    scans or sorts the whole table has no index that serves it.
    """
    with connection.cursor() as cursor:
        for setting in off:
            cursor.execute(f"SET LOCAL {setting} = off")
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}")
        (raw,) = cursor.fetchone()
    return _nodes((json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"])


# For modules whose tests read the planner's choice: SQLite has no such plans.
POSTGRES_ONLY = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL's planner"
)


def index_names(sql: str) -> set[str]:
    """The indexes the plan of ``sql`` reads (sequential scans discouraged)."""
    return {n["Index Name"] for n in plan_nodes(sql) if n.get("Index Name")}


def reads_of(ctx, table: str, where: str) -> list[str]:
    """The SELECTs that ``ctx`` (a ``CaptureQueriesContext``) saw on ``table``
    with ``where`` in their last WHERE clause."""
    return [
        q["sql"]
        for q in ctx.captured_queries
        if q["sql"].startswith("SELECT")
        and f'FROM "{table}"' in q["sql"]
        and where in q["sql"].split("WHERE")[-1]
    ]
