"""Benchmark: keyset list pages stay as cheap 500 000 rows deep as on page 1 (D18).

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/jopay_bench_pay \\
        .venv/bin/python -m bench.list_pagination [--rows 1000000] [--repeat 200]

1. Loads ``--rows`` payment requests for one tenant (partner ``bench-list``, live
   mode) into the bench database in one server-side ``INSERT … SELECT
   generate_series`` (every column of the model filled, three rows per
   ``created_at`` so the ``id`` tie-break is exercised), then ``ANALYZE``. A
   later run reuses the rows when the count already matches (``--reload`` forces
   a fresh load). Never a pytest ``test_…`` database (``bench.common`` refuses).
2. Times what ``GET /api/v1/requests`` does, minus HTTP: the selector
   ``payment_request_list`` → ``keyset_page(limit=50)`` → ``payment_request_data``
   for every item, for page 1 and for the page after row 500 000 (its cursor is
   computed directly from that row, as a client walking 10 000 pages would
   hold it). The same with a ``status`` filter. For contrast, an ``OFFSET``
   page at the same depth (what keyset paging avoids) is timed a few times.
3. Prints a table and writes ``bench/results/list_pagination.json``; exits 1 when
   the deep/page-1 ratio of the median misses the goal (≤ 1.3×).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

from bench import common

GOAL_RATIO = 1.3
PARTNER_SLUG = "bench-list"
WALLET = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
PAGE = 50
DEFAULT_ROWS = 1_000_000  # also the create benchmark's history (bench/api_create.py)
ROWS_PER_SECOND = 3  # rows sharing one created_at: the keyset's id tie-break works


def tenant():
    """The bench-list partner and its one ready merchant (idempotent)."""
    from jopay_project.tenancy import Tenant
    from merchants.models import Merchant, Partner

    partner, _ = Partner.objects.update_or_create(
        slug=PARTNER_SLUG,
        defaults={
            "name": "Bench list",
            "default_currency": "EUR",
            "enabled_currencies": ["EUR"],
        },
    )
    merchant, _ = Merchant.objects.update_or_create(
        partner=partner,
        test_mode=False,
        display_name="bench-list",
        defaults={
            "business_name": "Bench list shop",
            "wallet_address": WALLET,
            "onboarding_status": Merchant.OnboardingStatus.COMPLETE,
        },
    )
    return Tenant(partner=partner, test_mode=False), merchant


def _bulk_sql(rows: int) -> tuple[str, dict[str, Any]]:
    """``INSERT … SELECT`` over ``generate_series`` with an expression per column.

    Columns the benchmark does not care about get the model field's default (or
    NULL), so a new model field never breaks the load silently: a NOT NULL field
    without a default and without an expression here stops it with its name.
    """
    from payments.models import PaymentRequest

    expressions = {
        "id": "gen_random_uuid()",
        "partner_id": "%(partner)s",
        "merchant_id": "%(merchant)s",
        "test_mode": "false",
        "reference": "'L' || lpad(to_hex(i), 8, '0')",
        # Mostly settled history, a few open ones: what a real tenant looks like.
        "status": "(array['expired','paid','cancelled','expired','requested'])"
        "[1 + i %% 5]",
        "proof_status": "case when i %% 5 = 1 then 'verified' else 'none' end",
        "payment_mode": "case when i %% 7 = 0 then 'invoice' else 'pos' end",
        "fiat_int": "100 + (i::bigint * 7919) %% 100000",
        "fiat_code": "'EUR'",
        "usdc_micro": "1000000 + i",
        "fx_rate": "0.92",
        "fx_source": "'manual'",
        "memo": "'bench'",
        "metadata": "jsonb_build_object('order', i::text)",
        "receiving_address": "%(wallet)s",
        "created_at": "%(start)s::timestamptz - make_interval(secs => i / "
        f"{ROWS_PER_SECOND})",
        "updated_at": "%(start)s::timestamptz",
        "expires_at": "%(start)s::timestamptz - make_interval(secs => i / "
        f"{ROWS_PER_SECOND}) + interval '1 hour'",
    }
    columns: list[str] = []
    values: list[str] = []
    params: dict[str, Any] = {}
    for field in PaymentRequest._meta.concrete_fields:
        columns.append(f'"{field.column}"')
        if field.column in expressions:
            values.append(expressions[field.column])
        elif field.null:
            values.append("NULL")
        elif isinstance(default := field.get_default(), str | int | bool):
            # Django's own default ("" for text without one, 0 for counters).
            params[f"default_{field.column}"] = default
            values.append(f"%(default_{field.column})s")
        else:
            sys.exit(f"bench: no value for NOT NULL column {field.column}; add one")
    # Identifiers come from the model, values are parameters or fixed SQL above.
    sql = (
        f"INSERT INTO {PaymentRequest._meta.db_table} ({', '.join(columns)}) "  # noqa: S608
        f"SELECT {', '.join(values)} FROM generate_series(1, {int(rows)}) AS i"
    )
    return sql, params


def load(rows: int, *, reload: bool) -> tuple[float | None, int]:
    """Make the tenant hold exactly ``rows`` requests; returns (seconds, count)."""
    from django.db import connection, transaction
    from django.utils import timezone

    from payments.models import PaymentRequest

    tenant_, merchant = tenant()
    existing = PaymentRequest.objects.for_tenant(tenant_).count()
    if existing == rows and not reload:
        return None, existing
    sql, params = _bulk_sql(rows)
    params.update(
        partner=str(tenant_.partner.pk),
        merchant=str(merchant.pk),
        wallet=WALLET,
        start=timezone.now(),
    )
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {PaymentRequest._meta.db_table} WHERE partner_id = %s",  # noqa: S608
            [str(tenant_.partner.pk)],
        )
        cursor.execute(sql, params)
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {PaymentRequest._meta.db_table}")
    return time.perf_counter() - started, PaymentRequest.objects.for_tenant(
        tenant_
    ).count()


def cursor_at(tenant_, depth: int, **filters) -> str:
    """The cursor a client holds after reading ``depth`` rows (computed directly)."""
    from jopay_project.pagination import encode_cursor
    from payments.selectors import payment_request_list

    row = (
        payment_request_list(tenant=tenant_, **filters)
        .order_by("-created_at", "-id")
        .values("created_at", "id")[depth - 1]
    )
    return encode_cursor(row["created_at"], row["id"])


def list_page(tenant_, cursor: str | None, **filters) -> list[dict]:
    """What the list view does after parsing: selector → keyset page → D18 items."""
    from jopay_project.pagination import keyset_page
    from payments.selectors import payment_request_list
    from payments.serializers import payment_request_data

    page = keyset_page(
        payment_request_list(tenant=tenant_, **filters), limit=PAGE, cursor=cursor
    )
    return [payment_request_data(item) for item in page.items]


def offset_page(tenant_, depth: int) -> list[dict]:
    """The OFFSET alternative at the same depth, for contrast only."""
    from payments.selectors import payment_request_list
    from payments.serializers import payment_request_data

    qs = payment_request_list(tenant=tenant_).order_by("-created_at", "-id")
    return [payment_request_data(item) for item in qs[depth : depth + PAGE]]


def _full(items: list) -> None:
    if len(items) != PAGE:
        raise RuntimeError(f"a page held {len(items)} items, not {PAGE}")


def _stats(samples: list[float]) -> dict[str, float]:
    samples = sorted(samples)
    return {
        "median_ms": round(statistics.median(samples), 3),
        "p95_ms": round(samples[max(int(len(samples) * 0.95) - 1, 0)], 3),
        "min_ms": round(samples[0], 3),
        "max_ms": round(samples[-1], 3),
        "samples": len(samples),
    }


def timed(
    series: dict[str, Callable[[], list]], repeat: int, warmup: int = 5
) -> dict[str, dict[str, float]]:
    """Time each series ``repeat`` times, round-robin: on a shared machine a burst
    of noise then hits every series alike instead of skewing one ratio."""
    for fn in series.values():
        for _ in range(warmup):
            _full(fn())
    samples: dict[str, list[float]] = {name: [] for name in series}
    for _ in range(repeat):
        for name, fn in series.items():
            started = time.perf_counter()
            items = fn()
            samples[name].append((time.perf_counter() - started) * 1000)
            _full(items)
    return {name: _stats(values) for name, values in samples.items()}


def explain(tenant_, cursor: str) -> str:
    """The plan of the exact SQL the deep page runs (captured, then EXPLAINed)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        list_page(tenant_, cursor)
    sql = next(q["sql"] for q in queries.captured_queries if "ORDER BY" in q["sql"])
    with connection.cursor() as c:
        c.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) " + sql)
        lines = [row[0].strip() for row in c.fetchall()]
    return " | ".join(line for line in lines if not line.startswith("Planning"))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS)
    parser.add_argument("--depth", type=int, default=500_000)
    parser.add_argument("--repeat", type=int, default=200)
    parser.add_argument("--reload", action="store_true")
    args = parser.parse_args()

    common.setup_django()
    load_seconds, count = load(args.rows, reload=args.reload)
    print(
        f"rows for tenant {PARTNER_SLUG}: {count:,}"
        + (f" (loaded in {load_seconds:.1f} s)" if load_seconds else " (reused)")
    )
    tenant_, _ = tenant()

    deep = cursor_at(tenant_, args.depth)
    deep_status = cursor_at(tenant_, args.depth // 5, status="expired")
    # Correctness first: the deep page starts right after row `depth`.
    first_deep = list_page(tenant_, deep)[0]["request_id"]
    from payments.selectors import payment_request_list

    expected = str(
        payment_request_list(tenant=tenant_)
        .order_by("-created_at", "-id")
        .values_list("id", flat=True)[args.depth]
    )
    if first_deep != expected:
        sys.exit("bench: the keyset page does not continue right after the cursor")

    deep_name = f"page_after_{args.depth}"
    status_deep_name = f"status_expired_after_{args.depth // 5}"
    offset_name = f"offset_{args.depth}_for_contrast"
    results = timed(
        {
            "page_1": lambda: list_page(tenant_, None),
            deep_name: lambda: list_page(tenant_, deep),
            "status_expired_page_1": lambda: list_page(tenant_, None, status="expired"),
            status_deep_name: lambda: list_page(tenant_, deep_status, status="expired"),
        },
        args.repeat,
    )
    results.update(timed({offset_name: lambda: offset_page(tenant_, args.depth)}, 5, 1))
    base = results["page_1"]["median_ms"]
    ratio = results[deep_name]["median_ms"] / base
    status_ratio = (
        results[status_deep_name]["median_ms"]
        / results["status_expired_page_1"]["median_ms"]
    )
    offset_ratio = results[offset_name]["median_ms"] / base

    common.print_table(
        ["query", "median ms", "p95 ms", "min ms", "max ms", "× page 1"],
        [
            [
                name,
                r["median_ms"],
                r["p95_ms"],
                r["min_ms"],
                r["max_ms"],
                f"{r['median_ms'] / base:.2f}",
            ]
            for name, r in results.items()
        ],
    )
    passed = ratio <= GOAL_RATIO
    print(
        f"\ndeep/page-1 ratio {ratio:.2f} (goal ≤ {GOAL_RATIO}) → "
        f"{'PASS' if passed else 'FAIL'}; with status filter {status_ratio:.2f}; "
        f"OFFSET would be {offset_ratio:.1f}×"
    )
    plan = explain(tenant_, deep)
    print(f"plan: {plan}")
    path = common.write_results(
        "list_pagination",
        {
            "goal": f"deep keyset page median ≤ {GOAL_RATIO}× page 1 (D18: cost must "
            "not grow with the offset)",
            "rows": count,
            "depth": args.depth,
            "page_size": PAGE,
            "load_seconds": round(load_seconds, 1) if load_seconds else None,
            "timings": results,
            "ratio_deep_vs_page_1": round(ratio, 3),
            "ratio_status_filter": round(status_ratio, 3),
            "ratio_offset_for_contrast": round(offset_ratio, 1),
            "passed": passed,
            "deep_query_plan": plan,
            "machine": common.machine_info(),
        },
    )
    print(f"wrote {path.relative_to(common.ROOT)}")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
