"""Benchmark 1: ``POST /api/v1/requests/create`` against a bare one-INSERT view.

    .venv/bin/python -m bench.api_create [--rounds 3] [--duration 10] ...

One gunicorn (``bench.baseline.wsgi``: JoPay's settings plus ``/bench/insert``,
2 sync workers, DEBUG off) on PostgreSQL + Redis from ``DATABASE_URL`` /
``REDIS_URL``, a Celery worker beside it as deployed, and wrk on loopback:

1. peak: closed-loop wrk against the baseline and against JoPay, alternating for
   ``--rounds`` rounds (the machine is shared, so alternation spreads noise over
   both); the medians give the ratio. Goal: JoPay ≥ 60 % of the baseline.
2. half load: wrk paced at half of JoPay's median peak; goal p99 < 30 ms.
   (The baseline is paced at the same rate for comparison.)

Each create body varies ``fiat_amount_int`` and the merchant (16 merchants with
distinct wallets) and carries a fresh ``idempotency_key``: D15 gives each
(wallet, base amount) only 1 000 tags, so a fixed body would soon answer 409.
Prints a table and writes ``bench/results/api_create.json``; exits 1 when a goal
is missed or any answer was not a 2xx.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import time

from bench import common, list_pagination

GOAL_RATIO = 0.60
GOAL_P99_MS = 30.0

# wrk request generator shared by both targets: the same body shape, so the
# baseline parses as much JSON as JoPay does.
CREATE_LUA = r"""
local counter = 0
local merchants = {}
local headers = {}

function bench_init()
  for m in string.gmatch(bench.merchants, "[^,]+") do
    table.insert(merchants, m)
  end
  headers["Content-Type"] = "application/json"
  if bench.key then headers["Authorization"] = "Bearer " .. bench.key end
end

function request()
  counter = counter + 1
  local merchant = merchants[math.random(#merchants)]
  -- 1.00 to 99 999.99 EUR: every cent is another D15 base amount.
  local amount = math.random(100, 9999999)
  -- 16 + 2 + 14 = 32 hex characters (D17 accepts 32-64).
  local key = string.format("%s%02x%014x", bench.run, thread_id, counter)
  local body = string.format(
    '{"merchant_id":"%s","fiat_amount_int":%d,"idempotency_key":"%s",' ..
    '"memo":"bench","metadata":{"order":"%d"}}',
    merchant, amount, key, counter)
  return wrk.format("POST", bench.path, headers, body)
end
"""

BASELINE_PATH = "/bench/insert"
FLOOR_PATH = "/bench/floor"
FLOOR_FX_SOURCE = "bench-floor"  # bench.baseline.floor marks its rows with it
JOPAY_PATH = "/api/v1/requests/create"
# --what-if: the floor with more and more of the steps the decisions require
# dropped (bench.baseline.floor), to price each for a product decision.
WHAT_IF = {
    "floor -key": "key",  # D8: key row from a process cache
    "floor -key -context": "key,context",  # merchant + FX from a cache too
    "floor -key -context -counter": "key,context,counter",  # no D27 counter
    "floor -… -lock": "key,context,counter,lock",  # no D15 lock: the INSERT alone
}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--duration", type=int, default=10, help="seconds per peak run")
    parser.add_argument("--half-duration", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--merchants", type=int, default=16)
    parser.add_argument("--web-workers", type=int, default=2)
    parser.add_argument(
        "--history-rows",
        type=int,
        default=list_pagination.DEFAULT_ROWS,
        help="payment requests of another tenant in the table (0: none)",
    )
    parser.add_argument(
        "--what-if",
        action="store_true",
        help="also price the required steps: floor variants without them",
    )
    parser.add_argument(
        "--no-write", action="store_true", help="do not write bench/results"
    )
    return parser.parse_args(argv)


def _lua_args(tenant: common.BenchTenant, path: str) -> dict[str, str]:
    # A fresh run id per wrk invocation: wrk's counters restart at 0, and a key
    # reused with another body would (rightly) answer idempotency_conflict.
    return {
        "path": path,
        "key": tenant.key,
        "merchants": ",".join(tenant.merchant_ids),
        "run": secrets.token_hex(8),
    }


def _median_cpu(runs: list[common.WrkResult]) -> dict[str, float]:
    """Per process role, the median over ``runs`` of CPU ms per request."""
    roles = sorted({role for run in runs for role in run.cpu_ms_per_request})
    median = statistics.median
    return {
        role: round(median(r.cpu_ms_per_request.get(role, 0) for r in runs), 3)
        for role in roles
    }


def _check_rows(tenant: common.BenchTenant, created: int) -> dict[str, int]:
    """Every 201 left exactly one row; nothing else did (no half-written rows)."""
    from django.db import connection

    from payments.models import PaymentRequest

    rows = (
        PaymentRequest.objects.filter(partner_id=tenant.partner_id)
        .exclude(fx_source=FLOOR_FX_SOURCE)  # the floor route's rows
        .count()
    )
    with connection.cursor() as cursor:
        cursor.execute("select count(*) from bench_baseline_insert")
        baseline_rows = cursor.fetchone()[0]
    return {"jopay_rows": rows, "jopay_201": created, "baseline_rows": baseline_rows}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    common.require_wrk()
    common.setup_django()
    from bench.baseline.views import ensure_table

    ensure_table()
    if args.history_rows:
        # A table in use, not an empty one: index depths and the planner's
        # statistics as in production. The list benchmark's tenant and rows,
        # loaded once and shared by both benchmarks.
        list_pagination.load(args.history_rows, reload=False)
    tenant = common.bench_tenant(merchants=args.merchants)
    machine = common.machine_info()
    load_before = os.getloadavg()
    gunicorn_args = [
        "--workers",
        str(args.web_workers),
        "--threads",
        "1",
        "--worker-class",
        "sync",
    ]
    wrk_opts = {"connections": args.connections, "threads": args.threads}
    results: list[common.WrkResult] = []
    warmups: list[common.WrkResult] = []

    def wrk(base: str, path: str, label: str, **kw) -> common.WrkResult:
        result = common.run_wrk(
            base + path,
            label=label,
            lua_request=CREATE_LUA,
            lua_args=_lua_args(tenant, path),
            **{**wrk_opts, **kw},
        )
        results.append(result)
        print(
            f"  {label:<22} {result.rps:8.1f} req/s"
            f"  p50 {result.latency_ms['p50']:6.2f} ms"
            f"  p99 {result.latency_ms['p99']:6.2f} ms  {result.statuses}",
            flush=True,
        )
        return result

    print(f"bench: api_create on {machine['nproc']} cores, {machine['cpu_model']}")
    with (
        common.celery_worker() as worker,
        common.gunicorn("bench.baseline.wsgi", args=gunicorn_args) as web,
    ):
        targets = {"baseline": BASELINE_PATH, "floor": FLOOR_PATH, "jopay": JOPAY_PATH}
        if args.what_if:
            targets |= {n: f"{FLOOR_PATH}?without={w}" for n, w in WHAT_IF.items()}
        for path in targets.values():
            warmup = common.run_wrk(
                web.base + path,
                label="warmup",
                lua_request=CREATE_LUA,
                lua_args=_lua_args(tenant, path),
                duration=args.warmup,
                **wrk_opts,
            )
            warmups.append(warmup)
        peaks: dict[str, list[common.WrkResult]] = {name: [] for name in targets}
        for n in range(1, args.rounds + 1):
            for name, path in targets.items():
                peaks[name].append(
                    wrk(web.base, path, f"{name} peak #{n}", duration=args.duration)
                )
        baseline_rps = statistics.median(r.rps for r in peaks["baseline"])
        floor_rps = statistics.median(r.rps for r in peaks["floor"])
        jopay_rps = statistics.median(r.rps for r in peaks["jopay"])
        half_rate = jopay_rps / 2
        half = wrk(
            web.base,
            JOPAY_PATH,
            "jopay @ half peak",
            duration=args.half_duration,
            rate=half_rate,
        )
        half_baseline = wrk(
            web.base,
            BASELINE_PATH,
            "baseline @ same rate",
            duration=args.half_duration,
            rate=half_rate,
        )
        time.sleep(0.5)  # let the last answers land before reading memory
        memory = {"web": web.peak_rss(), "worker": worker.peak_rss()}
        gunicorn_log = web.log_tail(2000)

    jopay_runs = [r for r in results + warmups if JOPAY_PATH in r.url]
    rows = _check_rows(tenant, sum(r.statuses.get("201", 0) for r in jopay_runs))
    bad = sum(r.bad_requests for r in results + warmups)
    ratio = jopay_rps / baseline_rps if baseline_rps else 0.0
    floor_ratio = floor_rps / baseline_rps if baseline_rps else 0.0
    round_ratios = [
        round(j.rps / b.rps, 3)
        for b, j in zip(peaks["baseline"], peaks["jopay"], strict=True)
    ]
    goals = {
        "throughput_ratio": {
            "value": round(ratio, 3),
            "goal": f">= {GOAL_RATIO}",
            "met": ratio >= GOAL_RATIO,
        },
        "p99_at_half_peak_ms": {
            "value": half.latency_ms["p99"],
            "goal": f"< {GOAL_P99_MS}",
            "met": half.latency_ms["p99"] < GOAL_P99_MS,
        },
        "half_peak_rate_held": {
            "value": round(half.rps / half_rate, 3) if half_rate else 0,
            "goal": ">= 0.95 of the target rate",
            "met": half.rps >= 0.95 * half_rate,
        },
        "non_2xx_answers": {"value": bad, "goal": "0", "met": bad == 0},
        # wrk stops at the deadline without reading the answers still in flight,
        # so up to one request per connection and run may be a row without a 201.
        "rows_match_201s": {
            "value": rows,
            "goal": "0 <= jopay_rows - jopay_201 <= in-flight requests",
            "met": 0
            <= rows["jopay_rows"] - rows["jopay_201"]
            <= args.connections * len(jopay_runs),
        },
    }

    print()
    common.print_table(
        ["run", "req/s", "p50 ms", "p90 ms", "p99 ms", "max ms", "non-2xx"],
        [
            [
                r.label,
                f"{r.rps:.1f}",
                r.latency_ms["p50"],
                r.latency_ms["p90"],
                r.latency_ms["p99"],
                r.latency_ms["max"],
                r.bad_requests,
            ]
            for r in results
        ],
    )
    print()
    cpu = {name: _median_cpu(runs) for name, runs in peaks.items()}
    roles = ["gunicorn", "postgres", "redis", "wrk"]
    common.print_table(
        ["CPU ms per request (median of peaks)", *roles, "all"],
        [[name, *(split.get(r, 0) for r in roles), round(sum(split.values()), 3)]
         for name, split in cpu.items()],
    )  # fmt: skip
    print()
    print(
        f"median peak: baseline {baseline_rps:.1f} req/s, floor {floor_rps:.1f} req/s,"
        f" JoPay {jopay_rps:.1f} req/s"
    )
    print(
        f"ratio JoPay / baseline: {ratio:.1%} (goal >= {GOAL_RATIO:.0%}); "
        f"per round {round_ratios}"
    )
    print(
        f"design floor (create's round trips, no work) / baseline: {floor_ratio:.1%}"
        f"; JoPay / floor: {jopay_rps / floor_rps if floor_rps else 0:.1%}"
    )
    what_if = {
        name: {
            "without": WHAT_IF[name].split(","),
            "peak_rps": round(rps, 1),
            "ratio": round(rps / baseline_rps, 3) if baseline_rps else 0,
        }
        for name in WHAT_IF
        if name in peaks
        for rps in [statistics.median(r.rps for r in peaks[name])]
    }
    for name, row in what_if.items():
        print(f"what-if {name}: {row['peak_rps']} req/s = {row['ratio']:.1%}")
    print(
        f"p99 at half peak ({half_rate:.0f} req/s target, {half.rps:.1f} sent): "
        f"{half.latency_ms['p99']} ms (goal < {GOAL_P99_MS:.0f} ms)"
    )
    print(
        f"peak RSS: web workers {memory['web']['workers_vmhwm_kb']} KiB, "
        f"celery {memory['worker']['workers_vmhwm_kb']} KiB"
    )
    for name, goal in goals.items():
        print(f"  {'OK  ' if goal['met'] else 'MISS'} {name}: {goal['value']}")

    data = {
        "command": "python -m bench.api_create " + " ".join(argv or sys.argv[1:]),
        "machine": machine,
        "loadavg_before": [round(x, 2) for x in load_before],
        "config": {
            "server": "gunicorn bench.baseline.wsgi " + " ".join(gunicorn_args),
            "worker": "celery -A jopay_project worker --pool prefork --concurrency 2",
            "debug": False,
            "database": "PostgreSQL (dedicated bench database)",
            "cache_and_broker": "Redis",
            "load_generator": "wrk + Lua: varied amount, merchant, idempotency key",
            "pacing": "wrk delay() on a per-thread schedule (see bench/common/wrk.py)",
            **vars(args),
        },
        "summary": {
            "baseline_peak_rps": round(baseline_rps, 1),
            "floor_peak_rps": round(floor_rps, 1),
            "jopay_peak_rps": round(jopay_rps, 1),
            "ratio": round(ratio, 3),
            "floor_ratio": round(floor_ratio, 3),
            "jopay_vs_floor": round(jopay_rps / floor_rps, 3) if floor_rps else 0,
            "round_ratios": round_ratios,
            "half_peak_target_rps": round(half_rate, 1),
            "jopay_half_peak_latency_ms": half.latency_ms,
            "baseline_same_rate_latency_ms": half_baseline.latency_ms,
            "cpu_ms_per_request": cpu,
            "what_if": what_if,
        },
        "goals": goals,
        "memory_kb": memory,
        "runs": [r.as_dict() for r in results],
        "rows": rows,
    }
    if bad and gunicorn_log:
        data["gunicorn_log_tail"] = gunicorn_log
    if not args.no_write:
        # A what-if run is its own record: it does not replace the goal run's.
        name = "api_create_what_if" if args.what_if else "api_create"
        print(f"wrote {common.write_results(name, data)}")
    return 0 if all(g["met"] for g in goals.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
