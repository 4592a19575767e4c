"""Benchmark: one partner's hanging receiver vs another partner's webhook latency.

    .venv/bin/python -m bench.webhook_isolation [--events 20] [--backlog 12]

The deployed worker (Celery prefork, 2 children) delivers for two partners
to a local HTTPS receiver. Partner B's receiver answers at once; partner A's
hangs longer than the D24 timeout (8 s), as a receiver that is down behind a
load balancer does. B's latency (event written → POST received) is measured
twice in the same run:

1. alone, the baseline;
2. with A's receiver hanging (its failing streak already started) and a
   backlog of A's events queued just before B's.

A worker pool that sends A's backlog in parallel spends every child on A's
timeouts and B waits for them; JoPay sends a failing endpoint one attempt at
a time (``webhooks.services.claims``), so B keeps its latency. Prints a table,
writes ``bench/results/webhook_isolation.json``; exits 1 unless every B event
arrived and B's p95 with A hanging stayed under one timeout.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

from bench import common

HANG_SECONDS = 9.0  # longer than the 8 s timeout: every attempt times out


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=20, help="B's events a phase")
    parser.add_argument("--rate", type=float, default=4.0, help="B's events a second")
    parser.add_argument("--backlog", type=int, default=12, help="A's events queued")
    parser.add_argument("--no-write", action="store_true")
    return parser.parse_args(argv)


def _partner(slug: str, url: str):
    from merchants.models import Partner
    from webhooks.models import WebhookDelivery, WebhookEvent
    from webhooks.services import webhook_endpoint_set

    partner, _ = Partner.objects.get_or_create(slug=slug, defaults={"name": slug})
    common.delete_in_batches(WebhookDelivery.objects.filter(partner=partner))
    common.delete_in_batches(WebhookEvent.objects.filter(partner=partner))
    webhook_endpoint_set(partner=partner, url=url, enabled=True)
    # A fresh streak each run (and no lease left by an earlier one).
    partner.webhook_endpoint.__class__.objects.filter(partner=partner).update(
        failing_since=None, probe_until=None
    )
    return partner


def _emit(partner) -> tuple[str, float]:
    """One event in its own transaction, as a state change writes it (D24)."""
    from django.db import transaction

    from webhooks.services import event_emit

    written = time.time()
    with transaction.atomic():
        event = event_emit(
            partner=partner,
            test_mode=False,
            type="payment.proof_attached",
            data={"proof_status": "attached"},
        )
    return str(event.deliveries.get().pk), written


def _latencies(receiver, sent: dict[str, float], timeout: float) -> list[float]:
    """Seconds from each event written to its first POST; waits for all of them."""
    deadline = time.monotonic() + timeout
    while True:
        with receiver._lock:
            arrived: dict[str, float] = {}
            for at, body in receiver.received:
                if isinstance(body, dict) and body.get("delivery_id") in sent:
                    arrived.setdefault(body["delivery_id"], at)
        if len(arrived) == len(sent) or time.monotonic() > deadline:
            return [arrived[d] - sent[d] for d in sent if d in arrived]
        time.sleep(0.05)


def _phase(partner, receiver, args) -> dict:
    sent = {}
    for _ in range(args.events):
        delivery_id, written = _emit(partner)
        sent[delivery_id] = written
        time.sleep(1 / args.rate)
    got = _latencies(receiver, sent, timeout=180)
    ordered = sorted(got)
    return {
        "events": len(sent),
        "arrived": len(got),
        "p50_ms": round(statistics.median(got) * 1000, 1) if got else None,
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))] * 1000, 1)
        if got
        else None,
        "max_ms": round(ordered[-1] * 1000, 1) if got else None,
    }


def _overlap(partner) -> tuple[int, int]:
    """A's attempts so far, and the most of them that were in flight at once
    (from the attempt log: start, and start + latency, as the sender saw it)."""
    from datetime import timedelta

    from webhooks.models import WebhookAttempt

    rows = WebhookAttempt.objects.filter(delivery__partner=partner).values_list(
        "started_at", "latency_ms"
    )
    edges = []
    for started, latency in rows:
        edges += [(started, 1), (started + timedelta(milliseconds=latency or 0), -1)]
    most = now = 0
    for _, step in sorted(edges, key=lambda e: (e[0], e[1])):
        now += step
        most = max(most, now)
    return len(rows), most


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    receiver = common.WebhookReceiver()
    # Settings read these at import: trust the bench CA, allow the loopback host.
    os.environ.update(receiver.env())
    common.setup_django()
    from webhooks.models import WebhookEndpoint

    machine = common.machine_info()
    receiver.hang["/hang"] = HANG_SECONDS
    base = receiver.url.rsplit("/", 1)[0]
    env = common.bench_env(**receiver.env())
    try:
        hanging = _partner("bench-iso-a", base + "/hang")
        healthy = _partner("bench-iso-b", receiver.url)
        with common.celery_worker(env=env):
            alone = _phase(healthy, receiver, args)
            # A's receiver has been down a while: its first failure is recorded.
            _emit(hanging)
            deadline = time.monotonic() + 30
            while not WebhookEndpoint.objects.filter(
                partner=hanging, failing_since__isnull=False
            ).exists():
                if time.monotonic() > deadline:
                    raise RuntimeError("A's first attempt never failed")
                time.sleep(0.1)
            for _ in range(args.backlog):
                _emit(hanging)
            beside = _phase(healthy, receiver, args)
            beside["a_attempts"], beside["a_most_in_flight"] = _overlap(hanging)
    finally:
        receiver.stop()

    ratio = beside["p95_ms"] / alone["p95_ms"] if alone["p95_ms"] else None
    common.print_table(
        ["B's latency", "p50 ms", "p95 ms", "max ms", "arrived"],
        [
            [
                "alone (baseline)",
                alone["p50_ms"],
                alone["p95_ms"],
                alone["max_ms"],
                f"{alone['arrived']}/{alone['events']}",
            ],
            [
                f"A hanging, {args.backlog} of A's queued first",
                beside["p50_ms"],
                beside["p95_ms"],
                beside["max_ms"],
                f"{beside['arrived']}/{beside['events']}",
            ],
        ],
    )
    print(
        f"\np95 ratio (A hanging / alone): {ratio:.1f}x; A's attempts in flight at"
        f" most: {beside['a_most_in_flight']}"
        if ratio is not None
        else ""
    )
    ok = (
        alone["arrived"] == alone["events"]
        and beside["arrived"] == beside["events"]
        and beside["p95_ms"] is not None
        and beside["p95_ms"] < 8000
    )
    data = {
        "command": "python -m bench.webhook_isolation "
        + " ".join(argv or sys.argv[1:]),
        "machine": machine,
        "config": {
            "worker": "celery -A jopay_project worker --pool prefork --concurrency 2",
            "hang_seconds": HANG_SECONDS,
            "timeout_seconds": 8,
            **vars(args),
        },
        "alone": alone,
        "a_hanging": beside,
        "p95_ratio": round(ratio, 2) if ratio is not None else None,
        "checks": {"ok": ok},
    }
    if not args.no_write:
        print(f"wrote {common.write_results('webhook_isolation', data)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
