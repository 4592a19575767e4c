"""Every migration is safe on a busy database, or reviewed (docs/MIGRATIONS.md).

The project's migrations are applied one by one to an empty scratch database
and the SQL each one runs is checked for what blocks a large table's writers
or breaks the previous release's code during a rolling deploy:

- ``index-without-concurrently``: ``CREATE INDEX`` (or ``ADD CONSTRAINT …
  UNIQUE``) on an existing table holds a lock that blocks every write until the
  build ends; use ``AddIndexConcurrently`` (jopay_project/migration_ops.py);
- ``drop-index-without-concurrently``: ``DROP INDEX`` takes ACCESS EXCLUSIVE,
  and queues every query behind a long one; use ``RemoveIndexConcurrently``;
- ``constraint-validated-under-lock``: ``ADD CONSTRAINT … FOREIGN KEY/CHECK``
  without ``NOT VALID`` reads the whole table while writes wait. Django
  drops and re-adds a foreign key for any change of the field, even
  ``db_index`` alone;
- ``column-rewrite`` (``ALTER COLUMN … TYPE``), ``set-not-null-scan``;
- ``not-null-without-default``: ``ADD COLUMN … NOT NULL`` whose default is then
  dropped (Django's ``AddField`` with ``default=``): the old code's INSERTs
  name no such column and fail. Give the field ``db_default`` too;
- ``drop-table``, ``drop-column``, ``rename``: the old code still reads them.

Tables created by the same migration are exempt (empty, unknown to old code).
``REVIEWED`` holds what migrations already applied do; it must match exactly,
so a new finding fails here and a fixed one is taken off the list.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import uuid

import pytest
from django.db import connection

from tests.live import ROOT

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="the locks checked are PostgreSQL's"
)

# Applied in production before this check existed: never edited (that would
# change the schema they made); docs/MIGRATIONS.md says how to run each safely.
REVIEWED = {
    ("merchants", "0004_merchant_onboarding_email_terms"): {
        "not-null-without-default merchants_merchant.onboarding_email_due",
        "not-null-without-default merchants_merchant.onboarding_email_tries",
        "not-null-without-default merchants_merchant.terms_version",
    },
    ("payments", "0003_drop_amountlock"): {"drop-table payments_amountlock"},
    ("payments", "0006_request_recent_index"): {
        "drop-index-without-concurrently payments_paymentrequest_partner_id_4ebed5bd",
        "constraint-validated-under-lock payments_paymentrequest",
    },
    ("payments", "0011_chain_public_rpc_url"): {
        "not-null-without-default payments_chain.public_rpc_url",
    },
    ("webhooks", "0003_fk_indexes_covered"): {
        "drop-index-without-concurrently webhooks_webhookattempt_delivery_id_c57db657",
        "drop-index-without-concurrently webhooks_webhookdelivery_event_id_48da21e7",
        "constraint-validated-under-lock webhooks_webhookattempt",
        "constraint-validated-under-lock webhooks_webhookdelivery",
    },
}

_NAME = r'"(\w+)"'
_CREATE_TABLE = re.compile(rf"CREATE TABLE {_NAME}")
_CREATE_INDEX = re.compile(
    rf"CREATE (?:UNIQUE )?INDEX (CONCURRENTLY )?(?:IF NOT EXISTS )?{_NAME} ON {_NAME}"
)
_DROP_INDEX = re.compile(rf"DROP INDEX (CONCURRENTLY )?(?:IF EXISTS )?{_NAME}")
_DROP_TABLE = re.compile(rf"DROP TABLE {_NAME}")
_ALTER_TABLE = re.compile(rf"ALTER TABLE {_NAME} (.*)", re.S)
_ADD_NOT_NULL = re.compile(rf"ADD COLUMN {_NAME} [^,]* NOT NULL")
_DROP_DEFAULT = re.compile(rf"ALTER COLUMN {_NAME} DROP DEFAULT")


def findings(statements: list[str]) -> set[str]:
    """The rule broken by each statement, as 'rule object' strings."""
    created: set[str] = set()
    added_not_null: set[tuple[str, str]] = set()
    found: set[str] = set()
    for statement in statements:
        sql = statement.strip()
        if m := _CREATE_TABLE.match(sql):
            created.add(m[1])
        elif m := _CREATE_INDEX.match(sql):
            if not m[1] and m[3] not in created:
                found.add(f"index-without-concurrently {m[3]}")
        elif m := _DROP_INDEX.match(sql):
            if not m[1]:
                found.add(f"drop-index-without-concurrently {m[2]}")
        elif m := _DROP_TABLE.match(sql):
            found.add(f"drop-table {m[1]}")
        elif (m := _ALTER_TABLE.match(sql)) and m[1] not in created:
            table, action = m[1], m[2]
            if re.match(r"ADD CONSTRAINT \S+ (FOREIGN KEY|CHECK)", action):
                if "NOT VALID" not in action:
                    found.add(f"constraint-validated-under-lock {table}")
            elif re.match(r"ADD CONSTRAINT \S+ (UNIQUE|PRIMARY KEY)", action):
                found.add(f"index-without-concurrently {table}")
            elif c := _ADD_NOT_NULL.match(action):
                added_not_null.add((table, c[1]))
            elif (c := _DROP_DEFAULT.match(action)) and (table, c[1]) in added_not_null:
                found.add(f"not-null-without-default {table}.{c[1]}")
            elif re.match(rf"ALTER COLUMN {_NAME} (SET DATA )?TYPE", action):
                found.add(f"column-rewrite {table}")
            elif re.match(rf"ALTER COLUMN {_NAME} SET NOT NULL", action):
                found.add(f"set-not-null-scan {table}")
            elif action.startswith("DROP COLUMN"):
                found.add(f"drop-column {table}")
            elif action.startswith("RENAME"):
                found.add(f"rename {table}")
    return found


@pytest.fixture
def scratch_database_url(django_db_blocker):
    """An empty database beside the test database (dropped after)."""
    name = f"{connection.settings_dict['NAME']}_migrations_{uuid.uuid4().hex[:8]}"
    with django_db_blocker.unblock():
        with connection._nodb_cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
            cursor.execute(f'CREATE DATABASE "{name}"')
        try:
            yield os.environ["DATABASE_URL"].rsplit("/", 1)[0] + f"/{name}"
        finally:
            with connection._nodb_cursor() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')


def applied_sql(database_url: str) -> dict[tuple[str, str], list[str]]:
    """Each project migration's statements, as run from an empty database."""
    result = subprocess.run(
        [sys.executable, "-m", "tests.foundation.migration_sql"],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    by_name = json.loads(result.stdout)
    return {tuple(key.split(".")): sql for key, sql in by_name.items()}


def test_migrations_take_no_blocking_lock_and_keep_the_old_code_working(
    scratch_database_url,
):
    sql = applied_sql(scratch_database_url)
    assert ("payments", "0001_initial") in sql  # the project's were applied
    broken = {key: f for key, statements in sql.items() if (f := findings(statements))}
    assert broken == REVIEWED


@pytest.mark.parametrize(
    ("statements", "expected"),
    [
        (['CREATE INDEX "i" ON "t" ("a")'], {"index-without-concurrently t"}),
        (['CREATE INDEX CONCURRENTLY "i" ON "t" ("a")'], set()),
        (['CREATE TABLE "t" ("a" int)', 'CREATE INDEX "i" ON "t" ("a")'], set()),
        (
            ['ALTER TABLE "t" ADD CONSTRAINT "c" FOREIGN KEY ("a") REFERENCES "u"'],
            {"constraint-validated-under-lock t"},
        ),
        (['ALTER TABLE "t" ADD CONSTRAINT "c" CHECK ("a" > 0) NOT VALID'], set()),
        (
            [
                'ALTER TABLE "t" ADD COLUMN "a" boolean DEFAULT false NOT NULL',
                'ALTER TABLE "t" ALTER COLUMN "a" DROP DEFAULT',
            ],
            {"not-null-without-default t.a"},
        ),
        (['ALTER TABLE "t" ADD COLUMN "a" boolean DEFAULT false NOT NULL'], set()),
        (['ALTER TABLE "t" ADD COLUMN "a" jsonb NULL'], set()),
        (['ALTER TABLE "t" ALTER COLUMN "a" TYPE bigint'], {"column-rewrite t"}),
        (['ALTER TABLE "t" ALTER COLUMN "a" SET NOT NULL'], {"set-not-null-scan t"}),
        (['ALTER TABLE "t" DROP COLUMN "a" CASCADE'], {"drop-column t"}),
        (['ALTER TABLE "t" RENAME COLUMN "a" TO "b"'], {"rename t"}),
        (['DROP INDEX IF EXISTS "i"'], {"drop-index-without-concurrently i"}),
        (['DROP INDEX CONCURRENTLY IF EXISTS "i"'], set()),
    ],
)
def test_findings(statements, expected):
    assert findings(statements) == expected


@pytest.mark.django_db
def test_reviewed_not_null_columns_have_a_database_default_now():
    """merchants 0005 / payments 0012 give the columns merchants 0004 and
    payments 0011 added a database default, so the release before them (which
    inserts without those columns) works again beside the new code and after a
    rollback (docs/MIGRATIONS.md)."""
    columns = sorted(
        tuple(finding.split(" ", 1)[1].split("."))
        for found in REVIEWED.values()
        for finding in found
        if finding.startswith("not-null-without-default ")
    )
    assert len(columns) == 4
    with connection.cursor() as cursor:
        for table, column in columns:
            cursor.execute(
                "SELECT column_default FROM information_schema.columns"
                " WHERE table_name = %s AND column_name = %s",
                [table, column],
            )
            assert cursor.fetchone()[0] is not None, f"{table}.{column}"
