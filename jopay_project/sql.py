"""Hand-written statements for the hot paths, still typed by the models.

The ORM compiles every query anew on every call. For the statements a busy
API process runs on every request (key lookup, request create) that compile
step cost more than the database work itself: 0.3–1 ms of Python each on a
small box, against ~0.1 ms for the round trip. Here a statement's text is
built once per process from the models' metadata (so a renamed column still
follows the model), PostgreSQL prepares it (server-side binding, see
settings), and values cross the boundary through the fields' own
conversions in both directions, so a row reads back exactly as the ORM would
read it, on PostgreSQL and on the embedded SQLite (D30).

Use it only where a benchmark shows the ORM is the cost (``bench/``); every
other query stays ORM code.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models import Model


def _wrapper(conn):
    """The thread's own database wrapper behind Django's ``connection`` proxy.

    Each attribute read through the proxy is a thread-local look-up; a create
    made ~40 of them (``ops``, ``vendor``, …), one per field conversion.
    """
    return connections[DEFAULT_DB_ALIAS] if conn is connection else conn


def table(model: type[Model]) -> str:
    """The quoted table name (PostgreSQL and SQLite quote alike)."""
    return f'"{model._meta.db_table}"'


class Columns:
    """All concrete columns of ``model`` under a table alias, and how to read them.

    ``Columns(Merchant, "m").sql`` is ``m."id", m."email", …`` in field order;
    ``.instance(values)`` turns that slice of a result row into a model
    instance with the ORM's converters (JSON text → dict, SQLite's text UUIDs
    and timestamps → objects) and ``Model.from_db``.
    """

    def __init__(self, model: type[Model], alias: str):
        self.model = model
        self.fields = tuple(model._meta.concrete_fields)
        self.attnames = [field.attname for field in self.fields]
        self.sql = ", ".join(f'{alias}."{field.column}"' for field in self.fields)
        self.width = len(self.fields)
        self._converters: dict[str, list[tuple[int, list, Any]]] = {}

    def _converters_for(self, conn) -> list[tuple[int, list, Any]]:
        found = self._converters.get(conn.vendor)
        if found is None:
            found = []
            for index, field in enumerate(self.fields):
                column = field.get_col(self.model._meta.db_table)
                converters = conn.ops.get_db_converters(
                    column
                ) + column.get_db_converters(conn)
                if converters:
                    found.append((index, converters, column))
            self._converters[conn.vendor] = found
        return found

    def instance(self, values: Sequence[Any], conn=connection) -> Model:
        """A model instance from exactly ``self.width`` values in field order."""
        conn = _wrapper(conn)
        row = list(values)
        for index, converters, column in self._converters_for(conn):
            value = row[index]
            for convert in converters:
                value = convert(value, column, conn)
            row[index] = value
        return self.model.from_db(conn.alias, self.attnames, row)


def insert_columns_params(
    obj: Model, conn=connection, *, skip: str | None = None
) -> tuple[list[str], list[Any]]:
    """The columns and database values of an INSERT of ``obj``, as ``Model.save``
    would send them (field ``pre_save`` first, for ``auto_now`` and friends).

    ``skip`` names one field the caller supplies itself (as SQL).
    """
    conn = _wrapper(conn)
    fields = [f for f in obj._meta.concrete_fields if f.attname != skip]
    values = [f.get_db_prep_save(f.pre_save(obj, True), conn) for f in fields]
    return [f.column for f in fields], values


# Django switches psycopg's automatic preparing off; ``execute_prepared``
# restores explicit ``prepare=True`` with a threshold no query reaches.
NEVER_AUTOMATICALLY = 2**31 - 1


def execute_prepared(
    sql: str, params: dict[str, Any], *, fetch: bool = True
) -> tuple | None:
    """Run one statement as a server-side prepared statement; its one row.

    For statements a worker runs on every item (the webhook outbox's claim
    and result, ``webhooks.services.claims``): preparing them once per
    connection saves their planning, which costs about as much as running
    them. Django switches psycopg's automatic preparing off
    (``prepare_threshold=None``), and psycopg then ignores ``prepare=True``
    too; a huge threshold restores the explicit form while every other query
    stays unprepared. (Behind PgBouncer in transaction mode this needs its
    ``max_prepared_statements``.)
    """
    db = _wrapper(connection)  # looked up once, not on each attribute read
    db.ensure_connection()
    pg = db.connection
    if pg.prepare_threshold is None:
        pg.prepare_threshold = NEVER_AUTOMATICALLY
    with db.wrap_database_errors:
        cur = _cursor(db, pg)
        cur.execute(sql, params, prepare=True)
        return cur.fetchone() if fetch else None


def _cursor(db: Any, pg: psycopg.Connection) -> psycopg.Cursor:
    """One client-side cursor per database connection, reused by every attempt.

    A new ``psycopg.Cursor`` per statement cost ~0.02–0.04 ms of client CPU,
    a tenth of a webhook attempt's database work (``bench.webhook_delivery``).
    A client cursor holds no server state (no named portal; each result is
    replaced by the next statement's), and it is tied to the connection it was
    made on: after Django reconnects, the new connection gets a new one.
    """
    held = getattr(db, "_jopay_prepared_cursor", None)
    if held is not None and held[0] is pg and not held[1].closed:
        return held[1]
    cur = psycopg.Cursor(pg)
    db._jopay_prepared_cursor = (pg, cur)
    return cur


@contextmanager
def pipelined(conn=connection) -> Iterator[None]:
    """Send the statements executed inside as one batch (one round trip).

    PostgreSQL pipeline mode: each statement still runs on its own, in order,
    with its own snapshot; results are read after the block. Errors surface
    at the end of the block as Django's database errors. On other databases
    (the embedded SQLite) the statements simply run one by one.
    """
    if conn.vendor != "postgresql" or not psycopg.Pipeline.is_supported():
        yield
        return
    conn.ensure_connection()
    with conn.wrap_database_errors, conn.connection.pipeline():
        yield
