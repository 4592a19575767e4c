"""FX rates keep their 18 places (D14) on both supported databases (D30).

SQLite stored ``decimal`` columns as REAL (NUMERIC affinity, ~15 significant
digits): a rate of 1.234567890123456789 came back as 1.234567890123460000,
and a request's ``fx_rate`` no longer said which rate priced it.
``ExactDecimalField`` keeps them as fixed-width text there; PostgreSQL keeps
``numeric(38, 18)`` and migration 0009 runs no SQL on it.

The SQLite tests run ``manage.py`` in a subprocess on the embedded default
(no DATABASE_URL), as ``make run`` does (tests/chain/test_dev_chain.py).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from payments.models import FxRate, PaymentRequest
from tests.portal.conftest import make_request

ROOT = Path(__file__).resolve().parents[2]
RATE = "1.234567890123456789"

# Writes a rate and a request at RATE, then prints what reading them gives.
ROUND_TRIP = """
import json
from decimal import Decimal
from django.db import connection
from payments.models import FxRate, PaymentRequest
from tests.factories import MerchantFactory
from tests.portal.conftest import make_request

rate = FxRate.objects.create(currency="EUR", rate=Decimal("@RATE@"), source="t")
for currency, value in [("JPY", "150.25"), ("CLP", "9.5"), ("KWD", "0.000001")]:
    FxRate.objects.create(currency=currency, rate=Decimal(value), source="t")
request = make_request(MerchantFactory(), fx_rate=Decimal("@RATE@"))
with connection.cursor() as cursor:
    cursor.execute("SELECT typeof(rate) FROM payments_fxrate WHERE id = %s", [rate.pk])
    (storage,) = cursor.fetchone()
print(json.dumps({
    "rate": str(FxRate.objects.get(pk=rate.pk).rate),
    "fx_rate": str(PaymentRequest.objects.get(pk=request.pk).fx_rate),
    "found_by_rate": FxRate.objects.filter(rate=Decimal("@RATE@")).count(),
    "by_rate": list(FxRate.objects.order_by("rate").values_list("currency", flat=True)),
    "storage": storage,
}))
""".replace("@RATE@", RATE)


def sqlite_manage(tmp_path, *args: str) -> str:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")
    }
    env.update(DEBUG="1", JOPAY_DATA_DIR=str(tmp_path))
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_an_18_place_rate_round_trips_on_sqlite(tmp_path):
    sqlite_manage(tmp_path, "migrate", "--noinput", "-v0")

    got = json.loads(sqlite_manage(tmp_path, "shell", "-v0", "-c", ROUND_TRIP))

    assert got["rate"] == RATE  # was 1.234567890123460000 (a REAL)
    assert got["fx_rate"] == RATE
    assert got["found_by_rate"] == 1
    # Text, in a fixed width: sorting by rate (the admin's column) is numeric.
    assert got["storage"] == "text"
    assert got["by_rate"] == ["KWD", "EUR", "CLP", "JPY"]


# A database migrated before 0009 holds the rates as REAL / INTEGER.
OLD_ROWS = """
from django.db import connection
with connection.cursor() as cursor:
    cursor.execute(
        "INSERT INTO payments_fxrate (currency, rate, source, pinned, fetched_at)"
        " VALUES ('EUR', '0.92', 't', 0, '2026-01-01'),"
        " ('JPY', '150.000000000000000000', 't', 0, '2026-01-01'),"
        " ('KWD', '0.000001', 't', 0, '2026-01-01')"
    )
"""
READ_ROWS = """
import json
from payments.models import FxRate
rows = FxRate.objects.order_by("rate").values_list("currency", "rate")
print(json.dumps([[currency, str(rate)] for currency, rate in rows]))
"""


def test_rates_stored_before_0009_read_the_same_and_sort_after_it(tmp_path):
    sqlite_manage(tmp_path, "migrate", "--noinput", "-v0", "payments", "0008")
    sqlite_manage(tmp_path, "shell", "-v0", "-c", OLD_ROWS)

    sqlite_manage(tmp_path, "migrate", "--noinput", "-v0")

    assert json.loads(sqlite_manage(tmp_path, "shell", "-v0", "-c", READ_ROWS)) == [
        ["KWD", "0.000001000000000000"],
        ["EUR", "0.920000000000000000"],
        ["JPY", "150.000000000000000000"],
    ]


@pytest.mark.django_db
def test_postgresql_keeps_numeric_38_18_and_exact_rates(merchant):
    rate = FxRate.objects.create(currency="EUR", rate=Decimal(RATE), source="t")
    request = make_request(merchant, fx_rate=Decimal(RATE))

    assert FxRate.objects.get(pk=rate.pk).rate == Decimal(RATE)
    assert PaymentRequest.objects.get(pk=request.pk).fx_rate == Decimal(RATE)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT table_name, data_type, numeric_precision, numeric_scale"
            " FROM information_schema.columns"
            " WHERE (table_name, column_name) IN"
            " (('payments_fxrate', 'rate'), ('payments_paymentrequest', 'fx_rate'))"
            " ORDER BY table_name"
        )
        assert cursor.fetchall() == [
            ("payments_fxrate", "numeric", 38, 18),
            ("payments_paymentrequest", "numeric", 38, 18),
        ]


@pytest.mark.django_db
def test_the_sqlite_migration_runs_no_sql_on_postgresql():
    # No ALTER TABLE: a type change would rewrite the requests table.
    out = io.StringIO()
    call_command("sqlmigrate", "payments", "0009", stdout=out)

    statements = [
        line
        for line in out.getvalue().splitlines()
        if line.strip() and not line.startswith("--")
    ]
    assert statements == ["BEGIN;", "COMMIT;"]
