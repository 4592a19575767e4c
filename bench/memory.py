"""Benchmark 5: peak RSS of a web process and a worker under load.

    .venv/bin/python -m bench.memory [--duration 20] [--events 2000]

Starts the deployed process model on the bench database: gunicorn
(``jopay_project.wsgi``, 2 sync workers) and a Celery worker (prefork, 2
children), with a local HTTPS webhook receiver configured as the bench
partner's endpoint. Then, in turn:

1. creates under wrk (closed loop, the api_create body);
2. lists under wrk (``GET /api/v1/requests?limit=100``);
3. cancels ``--events`` requests, so the worker signs and delivers that many
   ``request.cancelled`` webhooks to the receiver.

``VmHWM`` (the kernel's peak resident set) of every gunicorn and Celery process
is read from ``/proc/<pid>/status`` after each phase. Prints a table and writes
``bench/results/memory.json``. Proof verification (benchmark 3) needs a chain
node and is not part of this load.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from bench import common
from bench.api_create import CREATE_LUA, JOPAY_PATH

LIST_LUA = r"""
local headers = {}
function bench_init()
  headers["Authorization"] = "Bearer " .. bench.key
end
function request()
  return wrk.format("GET", "/api/v1/requests?limit=100", headers)
end
"""


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=20, help="seconds per wrk load")
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--no-write", action="store_true")
    return parser.parse_args(argv)


def _snapshot(phase: str, web: common.Proc, worker: common.Proc) -> dict:
    web_rss, worker_rss = web.peak_rss(), worker.peak_rss()
    return {
        "phase": phase,
        "web_worker_vmhwm_kb": web_rss["workers_vmhwm_kb"],
        "web_master_vmhwm_kb": web_rss["master_vmhwm_kb"],
        "celery_child_vmhwm_kb": worker_rss["workers_vmhwm_kb"],
        "celery_master_vmhwm_kb": worker_rss["master_vmhwm_kb"],
    }


def _cancel(tenant: common.BenchTenant, count: int) -> list[str]:
    from jopay_project.tenancy import Tenant
    from merchants.models import Partner
    from payments.models import PaymentRequest
    from payments.services.closing import payment_request_cancel

    partner = Partner.objects.get(pk=tenant.partner_id)
    ids = list(
        PaymentRequest.objects.filter(partner=partner, status="requested")
        .order_by("created_at")
        .values_list("pk", flat=True)[:count]
    )
    scope = Tenant(partner=partner, test_mode=False)
    for request_id in ids:
        payment_request_cancel(tenant=scope, request_id=request_id)
    return [str(i) for i in ids]


def _wait_delivered(request_ids: list[str], timeout: float) -> dict:
    from webhooks.models import WebhookDelivery

    started = time.monotonic()
    deliveries = WebhookDelivery.objects.filter(event__request_id__in=request_ids)
    while time.monotonic() - started < timeout:
        done = deliveries.filter(state="delivered").count()
        if done == len(request_ids):
            break
        time.sleep(0.5)
    seconds = time.monotonic() - started
    return {
        "events": len(request_ids),
        "delivered": deliveries.filter(state="delivered").count(),
        "seconds_after_last_cancel": round(seconds, 1),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    common.require_wrk()
    receiver = common.WebhookReceiver()
    hook_env = receiver.env()
    os.environ.update(hook_env)
    common.setup_django()
    from merchants.models import Partner
    from webhooks.services import webhook_endpoint_set

    tenant = common.bench_tenant()
    webhook_endpoint_set(
        partner=Partner.objects.get(pk=tenant.partner_id),
        url=receiver.url,
        enabled=True,
    )
    machine = common.machine_info()
    env = common.bench_env(**hook_env)
    snapshots, loads = [], []
    print(f"bench: memory on {machine['nproc']} cores, {machine['cpu_model']}")
    try:
        with (
            common.celery_worker(env=env) as worker,
            common.gunicorn("jopay_project.wsgi", env=env) as web,
        ):
            snapshots.append(_snapshot("started", web, worker))
            create = common.run_wrk(
                web.base + JOPAY_PATH,
                label="create",
                lua_request=CREATE_LUA,
                lua_args={
                    "path": JOPAY_PATH,
                    "key": tenant.key,
                    "merchants": ",".join(tenant.merchant_ids),
                    "run": os.urandom(8).hex(),
                },
                duration=args.duration,
                connections=args.connections,
                threads=1,
            )
            loads.append(create)
            snapshots.append(_snapshot("after create load", web, worker))
            listing = common.run_wrk(
                web.base + "/api/v1/requests",
                label="list",
                lua_request=LIST_LUA,
                lua_args={"key": tenant.key},
                duration=args.duration,
                connections=args.connections,
                threads=1,
            )
            loads.append(listing)
            snapshots.append(_snapshot("after list load", web, worker))
            started = time.monotonic()
            cancelled = _cancel(tenant, args.events)
            cancel_seconds = time.monotonic() - started
            webhooks = _wait_delivered(cancelled, timeout=300)
            webhooks["cancel_seconds"] = round(cancel_seconds, 1)
            webhooks["receiver_posts"] = receiver.count
            snapshots.append(_snapshot("after webhook deliveries", web, worker))
    finally:
        receiver.stop()

    final = snapshots[-1]
    peak = {
        "web_worker_max_kb": max(final["web_worker_vmhwm_kb"]),
        "celery_child_max_kb": max(final["celery_child_vmhwm_kb"]),
        "celery_master_kb": final["celery_master_vmhwm_kb"],
        "web_master_kb": final["web_master_vmhwm_kb"],
    }
    print()
    common.print_table(
        ["phase", "gunicorn workers (MiB)", "celery children (MiB)", "celery master"],
        [
            [
                s["phase"],
                " / ".join(f"{kb / 1024:.1f}" for kb in s["web_worker_vmhwm_kb"]),
                " / ".join(f"{kb / 1024:.1f}" for kb in s["celery_child_vmhwm_kb"]),
                f"{s['celery_master_vmhwm_kb'] / 1024:.1f}",
            ]
            for s in snapshots
        ],
    )
    print()
    for load in loads:
        print(f"  {load.label}: {load.rps:.1f} req/s, statuses {load.statuses}")
    print(f"  webhooks: {webhooks}")
    bad = sum(load.bad_requests for load in loads)
    all_delivered = webhooks["delivered"] == webhooks["events"]
    data = {
        "command": "python -m bench.memory " + " ".join(argv or sys.argv[1:]),
        "machine": machine,
        "config": {
            "server": "gunicorn jopay_project.wsgi " + " ".join(common.GUNICORN_ARGS),
            "worker": "celery -A jopay_project worker --pool prefork --concurrency 2",
            "metric": "VmHWM from /proc/<pid>/status (peak resident set), KiB",
            **vars(args),
        },
        "peak_kb": peak,
        "snapshots": snapshots,
        "loads": [load.as_dict() for load in loads],
        "webhooks": webhooks,
        "checks": {"non_2xx_answers": bad, "all_webhooks_delivered": all_delivered},
    }
    if not args.no_write:
        print(f"wrote {common.write_results('memory', data)}")
    return 0 if bad == 0 and all_delivered else 1


if __name__ == "__main__":
    sys.exit(main())
