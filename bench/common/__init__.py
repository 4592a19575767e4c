"""Shared machinery of the benchmarks: bench database, processes, wrk, results.

One module per part (``env``: database, environment, tenant; ``procs``:
gunicorn, Celery, memory and CPU readings; ``wrk``: the load generator;
``receiver``: a webhook receiver; ``results``: machine and JSON); their
public names are all here, so a benchmark only needs ``common``.

Every benchmark runs the deployed process model (gunicorn sync workers, a Celery
worker) on PostgreSQL + Redis from ``DATABASE_URL`` / ``REDIS_URL``, DEBUG off,
in a dedicated bench database — never a pytest ``test_…`` one, because the bench
leaves rows behind and a test run would drop them mid-benchmark. The goals are
ratios against a baseline measured in the same run; absolute figures are only
informational and are recorded with the machine they were taken on.

Other benchmarks reuse this module::

    from bench import common
    common.setup_django()            # this process talks to the bench database
    tenant = common.bench_tenant()   # partner + live key + ready merchants
    with common.gunicorn() as web:
        result = common.run_wrk(web.base + "/api/v1/requests", lua_request=...)
"""

from bench.common.env import (
    BENCH_EUR_RATE,
    BENCH_PARTNER_SLUG,
    BENCH_RATE_OVERRIDES,
    BENCH_SECRET_KEY,
    BIN,
    RESULTS_DIR,
    ROOT,
    BenchTenant,
    bench_env,
    bench_tenant,
    bench_wallet,
    database_url,
    delete_in_batches,
    ensure_database,
    redis_url,
    setup_django,
    vacuum,
)
from bench.common.procs import (
    GUNICORN_ARGS,
    Proc,
    celery_worker,
    children,
    cpu_seconds,
    free_port,
    gunicorn,
    memory_kb,
)
from bench.common.receiver import WebhookReceiver
from bench.common.results import machine_info, print_table, write_results
from bench.common.wrk import WRK_PRELUDE, WrkResult, require_wrk, run_wrk

__all__ = [
    "BENCH_EUR_RATE", "BENCH_PARTNER_SLUG", "BENCH_RATE_OVERRIDES", "BENCH_SECRET_KEY",
    "BIN", "GUNICORN_ARGS", "RESULTS_DIR", "ROOT", "WRK_PRELUDE",
    "BenchTenant", "Proc", "WebhookReceiver", "WrkResult",
    "bench_env", "bench_tenant", "bench_wallet", "celery_worker", "children",
    "cpu_seconds", "database_url", "delete_in_batches", "ensure_database",
    "free_port", "gunicorn", "machine_info", "memory_kb", "print_table",
    "redis_url", "require_wrk", "run_wrk", "setup_django", "vacuum", "write_results",
]  # fmt: skip
