"""D15's tag search reads the wallet's rows in use, never its history.

A fixed-price merchant builds up thousands of old requests at one price; the
search used to read every one of them (``request_amount`` plus a filter), on
every create, under the wallet's lock: 122 ms at 20 000 old requests, now
0.24 ms (``request_base_expiry`` and ``request_open_amount``).
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from jopay_project.sql import insert_columns_params
from payments.models import PaymentRequest
from payments.services.tags import (
    TAG_HELD_AFTER_EXPIRY,
    TAG_SPAN,
    _pick_sql,
    pick_params,
)
from tests.factories import WALLET
from tests.payments.test_amounts import request_row

pytestmark = pytest.mark.django_db

BASE = 27_173_000
HISTORY = 400


def _row(merchant, *, tag: int, status: str, expires_at) -> PaymentRequest:
    return request_row(
        merchant, usdc_micro=BASE + tag, status=status, expires_at=expires_at
    )


@pytest.fixture
def history(merchant):
    """400 old requests at the price, one open, one paid early, one overdue."""
    now = timezone.now()
    old = now - timedelta(days=30)
    rows = [
        _row(merchant, tag=n % TAG_SPAN, status="expired", expires_at=old)
        for n in range(HISTORY)
    ]
    rows += [
        _row(
            merchant, tag=901, status="requested", expires_at=now + timedelta(hours=1)
        ),
        _row(merchant, tag=902, status="paid", expires_at=now + timedelta(days=3)),
        # Open past its window: the expiry job has not run, or a proof is attached.
        _row(merchant, tag=903, status="opened", expires_at=old),
    ]
    PaymentRequest.objects.bulk_create(rows)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE payments_paymentrequest")
    return now


def _removed_by_filter(plan) -> int:
    if isinstance(plan, list):
        return sum(_removed_by_filter(item) for item in plan)
    if isinstance(plan, dict):
        own = plan.get("Rows Removed by Filter", 0)
        return own + sum(_removed_by_filter(v) for v in plan.values())
    return 0


def _explain_generic(sql: str, params: list):
    """EXPLAIN ANALYZE of ``sql`` as a prepared statement under a generic plan."""
    from psycopg import ClientCursor

    count = sql.count("%s")
    text = sql.replace("%%", "\x00")
    for n in range(1, count + 1):
        text = text.replace("%s", f"${n}", 1)
    text = text.replace("\x00", "%")
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL plan_cache_mode = force_generic_plan")
        cursor.execute("SET LOCAL enable_seqscan = off")  # a tiny test table
        cursor.execute(f"PREPARE tag_pick AS {text}")
        execute = ClientCursor(connection.connection).mogrify(
            "EXPLAIN (ANALYZE, FORMAT JSON) EXECUTE tag_pick("
            + ", ".join(["%s"] * count)
            + ")",
            params,
        )
        cursor.execute(execute)
        (plan,) = cursor.fetchone()
        cursor.execute("DEALLOCATE tag_pick")
    return json.loads(plan) if isinstance(plan, str) else plan


def test_the_create_statement_reads_no_old_request_at_that_price(history, merchant):
    request = _row(
        merchant, tag=0, status="requested", expires_at=history + timedelta(hours=1)
    )
    request.reference = "NEWONE"
    columns, values = insert_columns_params(request, skip="usdc_micro")
    cutoff = history - TAG_HELD_AFTER_EXPIRY
    params = pick_params(
        columns=columns,
        address=WALLET,
        base=BASE,
        cutoff=cutoff,
        values=values,
        start=0,
    )
    # As create runs it: a generic plan (``_LOCK`` forces one), planned
    # without the values, so only the indexes and the query's shape count.
    plan = _explain_generic(_pick_sql(tuple(columns)), params)
    # Old requests at the price are neither returned nor filtered out: not read.
    assert _removed_by_filter(plan) < 10, json.dumps(plan)[:2000]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT usdc_micro FROM payments_paymentrequest WHERE reference = 'NEWONE'"
        )
        (usdc_micro,) = cursor.fetchone()
    assert usdc_micro - BASE not in {901, 902, 903}
