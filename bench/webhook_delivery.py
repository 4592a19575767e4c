"""Benchmark: webhook deliveries per second per worker process vs a raw requests loop.

    .venv/bin/python -m bench.webhook_delivery [--deliveries 3000] [--rounds 3]

A keep-alive HTTPS receiver (stdlib ``http.server`` behind TLS with a
``trustme`` CA, in its own process so it does not share our GIL) answers
``204`` to every POST. In one process, for ``--rounds`` rounds, the two
loops run interleaved in blocks of ``--block`` items (the machine is shared,
so both must see the same load):

* raw: a ``requests.Session`` loop POSTing the same JSON bodies (TLS verified
  against the same CA, the body read to the end), and nothing else;
* JoPay: the ``webhooks.deliver`` task body on pending outbox rows — the real
  path: conditional-UPDATE claim + attempt row, D26 URL check, body build,
  both signatures, POST, classification, attempt result + ``delivered``.

Goal (D36 ratios, absolute figures informational): JoPay ≥ 300 deliveries/s
and ≥ 50 % of raw (medians). Prints a table, writes
``bench/results/webhook_delivery.json``, exits 1 when a goal is missed or a
delivery did not end ``delivered``. Uses the bench database (never ``test_…``)
and the bench partner ``bench-hooks``, whose rows it deletes before and after.
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench import common

GOAL_PER_SECOND = 300.0
GOAL_RATIO = 0.50
PARTNER_SLUG = "bench-hooks"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--deliveries", type=int, default=3000, help="per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--block", type=int, default=100, help="interleaving block")
    return parser.parse_args(argv)


# --- the receiver (a child process) -------------------------------------------------


def _serve(cert_pem: bytes, key_pem: bytes, port_queue) -> None:
    import ssl
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive
        disable_nagle_algorithm = True  # no 40 ms delayed-ACK stalls on small answers

        def log_message(self, *args) -> None:
            pass

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self.send_response(204)
            self.send_header("Content-Length", "0")
            self.end_headers()

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    with tempfile.TemporaryDirectory() as tmp:
        cert, key = Path(tmp, "cert.pem"), Path(tmp, "key.pem")
        cert.write_bytes(cert_pem)
        key.write_bytes(key_pem)
        context.load_cert_chain(cert, key)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    server.socket = context.wrap_socket(server.socket, server_side=True)
    port_queue.put(server.server_address[1])
    server.serve_forever()


def start_receiver(ca_dir: Path):
    import trustme

    ca = trustme.CA()
    ca_path = ca_dir / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    leaf = ca.issue_cert("127.0.0.1")
    cert_pem = b"".join(blob.bytes() for blob in leaf.cert_chain_pems)
    ctx = multiprocessing.get_context("spawn")
    ports = ctx.Queue()
    proc = ctx.Process(
        target=_serve, args=(cert_pem, leaf.private_key_pem.bytes(), ports), daemon=True
    )
    proc.start()
    return proc, ports.get(timeout=30), ca_path


# --- outbox rows ------------------------------------------------------------------


def bench_partner():
    from merchants.models import Partner

    partner, _ = Partner.objects.get_or_create(
        slug=PARTNER_SLUG, defaults={"name": "Bench Hooks"}
    )
    return partner


def clean(partner) -> None:
    from webhooks.models import WebhookDelivery, WebhookEvent

    common.delete_in_batches(WebhookDelivery.objects.filter(partner=partner))
    common.delete_in_batches(WebhookEvent.objects.filter(partner=partner))


def maintain() -> None:
    """What autovacuum keeps true on a deployed database, done before each
    timed round (not timed): no dead rows of earlier rounds and runs, and
    statistics of the tables as they are. This machine's PostgreSQL runs with
    autovacuum off: runs of this bench left ~19 000 dead delivery rows behind,
    and the outbox statements' database CPU rose from 0.39 to 0.65 ms a
    delivery; tables analysed while empty then full (a manual VACUUM ANALYZE
    between runs) gave 1.37 ms."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "VACUUM ANALYZE webhooks_webhookevent, webhooks_webhookdelivery,"
            " webhooks_webhookattempt, webhooks_webhookendpoint"
        )


def autovacuum_setting() -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW autovacuum")
        return cursor.fetchone()[0]


def make_deliveries(partner, endpoint, count: int) -> list[str]:
    """``count`` pending deliveries of realistic events, written in bulk.

    Written directly (not via ``event_emit``) so no task reaches the broker:
    the loop below is the only sender.
    """
    import uuid

    from django.utils import timezone

    from jopay_project.formats import iso
    from webhooks.models import WebhookDelivery, WebhookEvent

    now = timezone.now()
    events = []
    for _ in range(count):
        request_id = uuid.uuid4()
        payload = {
            "event": "payment.proof_verified",
            "partner_id": str(partner.pk),
            "test_mode": False,
            "request_id": str(request_id),
            "merchant_id": str(uuid.uuid4()),
            "proof_status": "verified",
            "proof_source": "customer",
            "tx_hash": "0x" + uuid.uuid4().hex * 2,
            "payer_address": "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
            "chain_id": 8453,
            "amount": {
                "fiat_amount_int": 2500,
                "fiat_code": "EUR",
                "usdc_micro": "27173123",
            },
            "metadata": {"order": "A-1001"},
            "block_number": 123456,
            "log_index": 7,
            "confirmations": 12,
            "sequence": 2,
            "timestamp": iso(now),
        }
        events.append(
            WebhookEvent(
                partner=partner,
                test_mode=False,
                type=payload["event"],
                request_id=request_id,
                sequence=2,
                payload=payload,
                created_at=now,
            )
        )
    WebhookEvent.objects.bulk_create(events, batch_size=1000)
    deliveries = [
        WebhookDelivery(
            event=e,
            endpoint=endpoint,
            partner=partner,
            test_mode=False,
            next_attempt_at=now,
            enqueued_at=now,
        )
        for e in events
    ]
    WebhookDelivery.objects.bulk_create(deliveries, batch_size=1000)
    return [str(d.pk) for d in deliveries]


# --- the two loops ----------------------------------------------------------------


def run_jopay(ids: list[str]) -> tuple[float, int]:
    """Seconds spent delivering ``ids`` through the task body; how many delivered."""
    from webhooks.tasks import webhook_delivery_send_task

    started = time.perf_counter()
    states = [webhook_delivery_send_task.run(delivery_id) for delivery_id in ids]
    return time.perf_counter() - started, states.count("delivered")


def run_raw(session, url: str, bodies: list[bytes], ca_path: Path) -> float:
    """Seconds spent POSTing ``bodies`` with a plain keep-alive session."""
    headers = {"Content-Type": "application/json", "User-Agent": "raw"}
    started = time.perf_counter()
    for body in bodies:
        response = session.post(
            url,
            data=body,
            headers=headers,
            verify=str(ca_path),
            timeout=(4, 8),
            allow_redirects=False,
        )
        response.content  # noqa: B018 (read to the end, as the delivery code does)
        if response.status_code != 204:
            sys.exit(f"raw loop got {response.status_code}")
    return time.perf_counter() - started


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Meter:
    """Wall time plus the CPU time of this process, the receiver and the DB backend.

    On a shared machine the wall clock measures the neighbours too; the CPU
    time each loop costs along its (sequential) path does not, so it is
    recorded beside it: per item, it is what a quiet machine would need.
    """

    def __init__(self, receiver_pid: int, db_pid: int):
        self.pids = {"receiver": receiver_pid, "db": db_pid}
        self.wall = 0.0
        self.cpu = {"client": 0.0, "receiver": 0.0, "db": 0.0}

    def measure(self, fn, *args):
        before = {k: cpu_seconds(p) for k, p in self.pids.items()}
        own, wall = time.process_time(), time.perf_counter()
        result = fn(*args)
        self.wall += time.perf_counter() - wall
        self.cpu["client"] += time.process_time() - own
        for k, p in self.pids.items():
            self.cpu[k] += cpu_seconds(p) - before[k]
        return result

    def per_item_ms(self, items: int) -> dict[str, float]:
        out = {k: round(v / items * 1000, 3) for k, v in self.cpu.items()}
        out["total"] = round(sum(self.cpu.values()) / items * 1000, 3)
        return out


def run_round(session, url, ca_path, ids, bodies, block, pids):
    """Raw and JoPay interleaved in blocks (alternating which goes first).

    The machine is shared, so its load drifts; interleaving in small blocks
    exposes both loops to the same conditions. Returns both meters and how
    many deliveries ended delivered.
    """
    raw, jopay = Meter(*pids), Meter(*pids)
    delivered = 0
    for n, start in enumerate(range(0, len(ids), block)):
        chunk_ids, chunk_bodies = (
            ids[start : start + block],
            bodies[start : start + block],
        )
        if n % 2:
            raw.measure(run_raw, session, url, chunk_bodies, ca_path)
        delivered += jopay.measure(run_jopay, chunk_ids)[1]
        if not n % 2:
            raw.measure(run_raw, session, url, chunk_bodies, ca_path)
    return raw, jopay, delivered


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    ca_dir = Path(tempfile.mkdtemp(prefix="jopay-bench-hooks-"))
    receiver, port, ca_path = start_receiver(ca_dir)
    # Settings read these at import: trust the bench CA, allow the loopback host.
    os.environ["JOPAY_WEBHOOK_CA_BUNDLE"] = str(ca_path)
    os.environ["JOPAY_WEBHOOK_ALLOW_PRIVATE_HOSTS"] = "1"
    common.setup_django()

    from webhooks.delivery import build_body
    from webhooks.models import WebhookDelivery
    from webhooks.services import webhook_endpoint_set

    url = f"https://127.0.0.1:{port}/hook"
    partner = bench_partner()
    clean(partner)
    endpoint, _ = webhook_endpoint_set(partner=partner, url=url, enabled=True)

    def bodies_of(ids: list[str]) -> list[bytes]:
        rows = WebhookDelivery.objects.filter(pk__in=ids).select_related("event")
        by_id = {str(d.pk): build_body(d.event.payload, str(d.pk)) for d in rows}
        return [by_id[i] for i in ids]

    import requests

    session = requests.Session()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pids = (receiver.pid, cursor.fetchone()[0])
    autovacuum = autovacuum_setting()
    warm = make_deliveries(partner, endpoint, args.warmup)
    maintain()
    run_round(session, url, ca_path, warm, bodies_of(warm), args.block, pids)

    raw_rates, jopay_rates, not_delivered = [], [], 0
    raw_cpu, jopay_cpu = [], []
    for round_no in range(1, args.rounds + 1):
        ids = make_deliveries(partner, endpoint, args.deliveries)
        maintain()
        raw_m, jopay_m, delivered = run_round(
            session, url, ca_path, ids, bodies_of(ids), args.block, pids
        )
        raw_rates.append(len(ids) / raw_m.wall)
        jopay_rates.append(len(ids) / jopay_m.wall)
        raw_cpu.append(raw_m.per_item_ms(len(ids)))
        jopay_cpu.append(jopay_m.per_item_ms(len(ids)))
        not_delivered += len(ids) - delivered
        print(
            f"round {round_no}: raw {raw_rates[-1]:.0f}/s, "
            f"jopay {jopay_rates[-1]:.0f}/s",
            flush=True,
        )

    raw, jopay = statistics.median(raw_rates), statistics.median(jopay_rates)
    ratio = jopay / raw
    raw_cpu_ms = statistics.median(c["total"] for c in raw_cpu)
    jopay_cpu_ms = statistics.median(c["total"] for c in jopay_cpu)
    cpu_ratio = raw_cpu_ms / jopay_cpu_ms
    ok = jopay >= GOAL_PER_SECOND and ratio >= GOAL_RATIO and not_delivered == 0
    print()
    common.print_table(
        ["loop", "per second (median)", "rounds", "goal"],
        [
            [
                "raw requests.Session",
                f"{raw:.0f}",
                " ".join(f"{r:.0f}" for r in raw_rates),
                "-",
            ],
            [
                "JoPay webhooks.deliver",
                f"{jopay:.0f}",
                " ".join(f"{r:.0f}" for r in jopay_rates),
                f">= {GOAL_PER_SECOND:.0f}/s",
            ],
            ["ratio", f"{ratio:.0%}", "", f">= {GOAL_RATIO:.0%}"],
        ],
    )
    print()
    common.print_table(
        ["CPU ms per item (median)", "client", "receiver", "db", "total", "1/total"],
        [
            [
                name,
                *(f"{c[k]:.3f}" for k in ("client", "receiver", "db", "total")),
                f"{1000 / c['total']:.0f}/s",
            ]
            for name, c in (
                ("raw", min(raw_cpu, key=lambda c: abs(c["total"] - raw_cpu_ms))),
                ("JoPay", min(jopay_cpu, key=lambda c: abs(c["total"] - jopay_cpu_ms))),
            )
        ]
        + [["ratio raw/JoPay", "", "", "", f"{cpu_ratio:.0%}", ""]],
    )
    path = common.write_results(
        "webhook_delivery",
        {
            "deliveries_per_round": args.deliveries,
            "rounds": args.rounds,
            "transport": "HTTPS keep-alive, TLS verified, one connection",
            "interleaving_block": args.block,
            "postgresql_autovacuum": autovacuum,
            "vacuum_analyze_before_each_round": True,
            "load_average_at_end": os.getloadavg(),
            "raw_per_second": [round(r, 1) for r in raw_rates],
            "jopay_per_second": [round(r, 1) for r in jopay_rates],
            "raw_median": round(raw, 1),
            "jopay_median": round(jopay, 1),
            "ratio": round(ratio, 3),
            "cpu_ms_per_item": {"raw": raw_cpu, "jopay": jopay_cpu},
            "cpu_ratio": round(cpu_ratio, 3),
            "goals": {"per_second": GOAL_PER_SECOND, "ratio": GOAL_RATIO},
            "not_delivered": not_delivered,
            "passed": ok,
            "machine": common.machine_info(),
        },
    )
    print(f"\nwrote {path.relative_to(common.ROOT)}; goals {'met' if ok else 'MISSED'}")
    clean(partner)
    receiver.terminate()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
