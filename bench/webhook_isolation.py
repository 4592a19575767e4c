"""Benchmark: a partner's hanging or slow receiver vs another partner's webhooks.

    .venv/bin/python -m bench.webhook_isolation [--events 20] [--backlog 12]

The deployed worker (Celery prefork, 2 children) delivers for two partners
to a local HTTPS receiver. Partner B's receiver answers at once; partner A's
hangs longer than the D24 timeout (8 s), as a receiver that is down behind a
load balancer does. B's latency (event written → POST received) is measured
three times in the same run:

1. alone, the baseline;
2. with A's receiver hanging (its failing streak already started) and a
   backlog of A's events queued just before B's;
3. with partner C's receiver answering 200, but only after 6 s (a first
   slow answer already seen), and a backlog of C's events queued before B's.

A worker pool that sends A's or C's backlog in parallel spends every child
on them and B waits; JoPay sends a failing or slow endpoint one attempt at a
time (``webhooks.services.claims``), so B keeps its latency. Prints a table,
writes ``bench/results/webhook_isolation.json``; exits 1 unless every B event
arrived and B's p95 beside A and beside C stayed under one timeout.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

from bench import common

HANG_SECONDS = 9.0  # longer than the 8 s timeout: every attempt times out
SLOW_SECONDS = 6.0  # a 2xx within the timeout, past JOPAY_WEBHOOK_SLOW_SECONDS


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
        failing_since=None, slow_since=None, probe_until=None
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


def _wait_for(rows) -> None:
    """Until ``rows`` exist (an endpoint's first answer has come back, say)."""
    deadline = time.monotonic() + 30
    while not rows.exists():
        if time.monotonic() > deadline:
            raise RuntimeError(f"waited 30 s for {rows.model.__name__} rows")
        time.sleep(0.1)


def _beside(bad, first_answer, healthy, receiver, args, *, prefix: str) -> dict:
    """B's phase with ``args.backlog`` of ``bad``'s events queued just before,
    once ``bad``'s first attempt has come back (``first_answer`` rows exist)."""
    _emit(bad)
    _wait_for(first_answer)
    for _ in range(args.backlog):
        _emit(bad)
    result = _phase(healthy, receiver, args)
    attempts, most = _overlap(bad)
    result[f"{prefix}_attempts"], result[f"{prefix}_most_in_flight"] = attempts, most
    return result


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    receiver = common.WebhookReceiver()
    # Settings read these at import: trust the bench CA, allow the loopback host.
    os.environ.update(receiver.env())
    common.setup_django()
    from webhooks.models import WebhookAttempt, WebhookEndpoint
    from webhooks.services import webhook_endpoint_set
    from webhooks.services.claims import INTERRUPTED

    machine = common.machine_info()
    receiver.hang["/hang"] = HANG_SECONDS
    receiver.hang["/slow"] = SLOW_SECONDS
    base = receiver.url.rsplit("/", 1)[0]
    env = common.bench_env(**receiver.env())
    try:
        hanging = _partner("bench-iso-a", base + "/hang")
        healthy = _partner("bench-iso-b", receiver.url)
        slow = _partner("bench-iso-c", base + "/slow")
        with common.celery_worker(env=env):
            alone = _phase(healthy, receiver, args)
            # A's receiver has been down a while: its first failure is recorded.
            beside = _beside(
                hanging,
                WebhookEndpoint.objects.filter(
                    partner=hanging, failing_since__isnull=False
                ),
                healthy,
                receiver,
                args,
                prefix="a",
            )
            # A's backlog would still hold a worker child for 8 s an attempt:
            # switch A off (its pending deliveries are abandoned) and let its
            # last attempt time out, so C is measured alone beside B.
            webhook_endpoint_set(partner=hanging, enabled=False)
            _wait_for(
                WebhookEndpoint.objects.filter(partner=hanging).exclude(
                    deliveries__attempt_log__error=INTERRUPTED
                )
            )
            # C's receiver answers 200 in 6 s: its first answer marks it slow
            # (unless JOPAY_WEBHOOK_SLOW_SECONDS is above 6: the code before).
            beside_slow = _beside(
                slow,
                WebhookAttempt.objects.filter(
                    delivery__partner=slow, status_code__isnull=False
                ),
                healthy,
                receiver,
                args,
                prefix="c",
            )
    finally:
        receiver.stop()

    ratio = beside["p95_ms"] / alone["p95_ms"] if alone["p95_ms"] else None
    slow_ratio = beside_slow["p95_ms"] / alone["p95_ms"] if alone["p95_ms"] else None
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
            [
                f"C slow (200 in {SLOW_SECONDS:.0f} s), {args.backlog} of C's first",
                beside_slow["p50_ms"],
                beside_slow["p95_ms"],
                beside_slow["max_ms"],
                f"{beside_slow['arrived']}/{beside_slow['events']}",
            ],
        ],
    )
    print(
        f"\np95 ratio (A hanging / alone): {ratio:.1f}x; A's attempts in flight at"
        f" most: {beside['a_most_in_flight']}"
        if ratio is not None
        else ""
    )
    print(
        f"p95 ratio (C slow / alone): {slow_ratio:.1f}x; C's attempts in flight at"
        f" most: {beside_slow['c_most_in_flight']}"
        if slow_ratio is not None
        else ""
    )
    ok = (
        alone["arrived"] == alone["events"]
        and beside["arrived"] == beside["events"]
        and beside["p95_ms"] is not None
        and beside["p95_ms"] < 8000
        and beside_slow["arrived"] == beside_slow["events"]
        and beside_slow["p95_ms"] is not None
        and beside_slow["p95_ms"] < 8000
    )
    data = {
        "command": "python -m bench.webhook_isolation "
        + " ".join(argv or sys.argv[1:]),
        "machine": machine,
        "config": {
            "worker": "celery -A jopay_project worker --pool prefork --concurrency 2",
            "hang_seconds": HANG_SECONDS,
            "slow_seconds": SLOW_SECONDS,
            "timeout_seconds": 8,
            **vars(args),
        },
        "alone": alone,
        "a_hanging": beside,
        "p95_ratio": round(ratio, 2) if ratio is not None else None,
        "c_slow": beside_slow,
        "p95_ratio_slow": round(slow_ratio, 2) if slow_ratio is not None else None,
        "checks": {"ok": ok},
    }
    if not args.no_write:
        print(f"wrote {common.write_results('webhook_isolation', data)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
