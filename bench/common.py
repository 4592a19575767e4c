"""Shared machinery of the benchmarks: bench database, processes, wrk, results.

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

from __future__ import annotations

import json
import os
import platform
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
RESULTS_DIR = ROOT / "bench" / "results"

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/jopay_bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/9"
# A fixed key is fine: the bench database holds nothing but benchmark rows.
BENCH_SECRET_KEY = "jopay-bench-secret-key-" + "b" * 40
BENCH_PARTNER_SLUG = "bench-pay"
# D27 limits are per key and minute; the bench partner is allowed far more so
# the limiter is measured (it still counts every call) but never answers 429.
BENCH_RATE_OVERRIDES = {
    "requests.create": "1000000/m",
    "requests.list": "1000000/m",
    "requests.detail": "1000000/m",
    "requests.cancel": "1000000/m",
    "requests.reverify": "1000000/m",
    "merchants.list": "1000000/m",
    "events.list": "1000000/m",
}
BENCH_EUR_RATE = Decimal("0.92")  # fiat per USDC, pinned (source manual)


# --- environment and database --------------------------------------------------------


def database_url() -> str:
    url = os.environ.get("DATABASE_URL") or DEFAULT_DATABASE_URL
    name = urlsplit(url).path.lstrip("/")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("bench: DATABASE_URL must be PostgreSQL (the deployed set, D30)")
    if not name or name.startswith("test_"):
        sys.exit(
            f"bench: refusing database {name!r}: use a dedicated bench database, "
            "never a pytest test_… one"
        )
    return url


def redis_url() -> str:
    return os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL


def bench_env(**extra: str) -> dict[str, str]:
    """Environment for this process's Django and for every child process."""
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "jopay_project.settings",
            "DATABASE_URL": database_url(),
            "REDIS_URL": redis_url(),
            "DEBUG": "0",
            "SECRET_KEY": os.environ.get("SECRET_KEY") or BENCH_SECRET_KEY,
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "JOPAY_PUBLIC_BASE_URL": "http://127.0.0.1:8000",
            "LOG_LEVEL": "WARNING",
            "PYTHONPATH": str(ROOT),
        }
    )
    env.update(extra)
    return env


def ensure_database() -> None:
    """Create the bench database when it does not exist yet (idempotent)."""
    import psycopg

    url = database_url()
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        found = conn.execute(
            "select 1 from pg_database where datname = %s", (name,)
        ).fetchone()
        if not found:
            print(f"bench: creating database {name}")
            conn.execute(f'create database "{name}"')


_django_ready = False


def setup_django(*, migrate: bool = True) -> None:
    """Point this process's Django at the bench database (created and migrated)."""
    global _django_ready
    if _django_ready:
        return
    os.environ.update(bench_env())
    sys.path.insert(0, str(ROOT))
    ensure_database()
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)
    _django_ready = True


# --- the bench tenant ----------------------------------------------------------------


@dataclass
class BenchTenant:
    partner_id: str
    key: str
    merchant_ids: list[str]
    wallets: list[str]


def bench_wallet(index: int) -> str:
    """A distinct, deterministic EIP-55 wallet per bench merchant (D15 spreads
    unique-amount tags per wallet, so the load is spread over several)."""
    from eth_utils import keccak, to_checksum_address

    return to_checksum_address(keccak(text=f"jopay-bench-wallet-{index}")[-20:])


def bench_tenant(*, merchants: int = 16, test_mode: bool = False) -> BenchTenant:
    """The bench partner with a fresh key, ``merchants`` ready merchants, a pinned
    EUR rate and rate-limit overrides; its earlier requests and events are gone.

    Call after ``setup_django()``.
    """
    from django.db import transaction

    from merchants.keys import api_key_create
    from merchants.models import Merchant, Partner
    from payments.models import PaymentRequest
    from payments.services.fx import fx_rate_set_manual
    from webhooks.models import WebhookEvent

    with transaction.atomic():
        partner, _ = Partner.objects.update_or_create(
            slug=BENCH_PARTNER_SLUG,
            defaults={
                "name": "Bench Pay",
                "default_currency": "EUR",
                "enabled_currencies": ["EUR"],
                "min_fiat_per_request": 100,
                "max_fiat_per_request": None,
                "rate_limit_overrides": BENCH_RATE_OVERRIDES,
                "is_active": True,
            },
        )
        # A clean slate: old open requests would hold D15 tags of the wallets.
        WebhookEvent.objects.filter(partner=partner).delete()
        PaymentRequest.objects.filter(partner=partner).delete()
        fx_rate_set_manual(currency="EUR", rate=BENCH_EUR_RATE, partner=partner)
        ids, wallets = [], []
        for index in range(merchants):
            wallet = bench_wallet(index)
            merchant, _ = Merchant.objects.update_or_create(
                partner=partner,
                test_mode=test_mode,
                display_name=f"bench-{index:02d}",
                defaults={
                    "business_name": f"Bench shop {index:02d}",
                    "email": f"bench{index:02d}@example.com",
                    "country": "DE",
                    "wallet_address": wallet,
                    "wallet_type": Merchant.WalletType.EXTERNAL,
                    "onboarding_status": Merchant.OnboardingStatus.COMPLETE,
                    "disabled": False,
                },
            )
            ids.append(str(merchant.pk))
            wallets.append(wallet)
        _, key = api_key_create(partner=partner, test_mode=test_mode, name="bench")
    vacuum(PaymentRequest, WebhookEvent)
    return BenchTenant(
        partner_id=str(partner.pk), key=key, merchant_ids=ids, wallets=wallets
    )


def vacuum(*models) -> None:
    """``VACUUM (ANALYZE)`` the models' tables (PostgreSQL; outside a transaction).

    After a benchmark clears its rows: without it the next run walks the dead
    index entries the DELETE left (every unique check and look-up pays) and
    plans with statistics of a table that no longer exists. Both made the
    create benchmark drift run to run (p99 at half peak 50 ms on a bloated
    table against 11 ms after a vacuum, same code).
    """
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    tables = ", ".join(f'"{model._meta.db_table}"' for model in models)
    with connection.cursor() as cursor:
        cursor.execute(f"VACUUM (ANALYZE) {tables}")


# --- processes -----------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def children(pid: int) -> list[int]:
    """Direct children of ``pid`` (gunicorn's and Celery's worker processes)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # Field 4 (ppid) follows the parenthesised command name, which may hold spaces.
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found.append(int(entry.name))
    return sorted(found)


def memory_kb(pid: int) -> dict[str, int]:
    """``VmHWM`` (peak RSS) and ``VmRSS`` of a process, in KiB."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmHWM", "VmRSS"):
            out[name] = int(value.split()[0])
    return out


@dataclass
class Proc:
    """A started server or worker: its master pid and where its log goes."""

    popen: subprocess.Popen
    log: Path
    base: str = ""
    pid: int = field(init=False)

    def __post_init__(self) -> None:
        self.pid = self.popen.pid

    def workers(self) -> list[int]:
        return children(self.pid)

    def peak_rss(self) -> dict[str, Any]:
        """Peak RSS per worker process (KiB) plus the master's, read right now."""
        workers = {pid: memory_kb(pid) for pid in self.workers()}
        return {
            "master_vmhwm_kb": memory_kb(self.pid)["VmHWM"],
            "workers_vmhwm_kb": [m["VmHWM"] for m in workers.values()],
            "workers_vmrss_kb": [m["VmRSS"] for m in workers.values()],
            "max_worker_vmhwm_kb": max(
                (m["VmHWM"] for m in workers.values()), default=0
            ),
        }

    def log_tail(self, chars: int = 3000) -> str:
        try:
            return self.log.read_text()[-chars:]
        except OSError:
            return ""


def _stop(popen: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    if popen.poll() is None:
        popen.send_signal(sig)
        try:
            popen.wait(20)
        except subprocess.TimeoutExpired:
            popen.kill()
            popen.wait()


GUNICORN_ARGS = ["--workers", "2", "--threads", "1", "--worker-class", "sync"]


@contextmanager
def gunicorn(
    app: str = "jopay_project.wsgi",
    *,
    args: list[str] | None = None,
    env: dict[str, str] | None = None,
):
    """gunicorn serving ``app`` on a free loopback port; yields a ``Proc``.

    ``args`` defaults to ``GUNICORN_ARGS`` so every server of a run has the same
    worker model. Waits until the server answers; raises with its log otherwise.
    """
    import requests

    port = free_port()
    log = Path(tempfile.mkstemp(prefix="bench-gunicorn-", suffix=".log")[1])
    cmd = [
        str(BIN / "gunicorn"),
        app,
        "--bind",
        f"127.0.0.1:{port}",
        *(args or GUNICORN_ARGS),
        "--log-level",
        "warning",
        "--backlog",
        "2048",
    ]
    with log.open("wb") as out:
        popen = subprocess.Popen(
            cmd, cwd=ROOT, env=env or bench_env(), stdout=out, stderr=out
        )
    proc = Proc(popen=popen, log=log, base=f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                requests.get(proc.base + "/api/v1/ping", timeout=5)
                break
            except requests.RequestException:
                if popen.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        "gunicorn did not start:\n" + proc.log_tail()
                    ) from None
                time.sleep(0.2)
        # Every worker answers once before measuring (imports, first connection).
        for _ in range(20):
            requests.get(proc.base + "/api/v1/ping", timeout=5)
        yield proc
    finally:
        _stop(popen)
        log.unlink(missing_ok=True)


@contextmanager
def celery_worker(*, concurrency: int = 2, env: dict[str, str] | None = None):
    """A Celery worker (prefork, as deployed) on the bench broker; yields a ``Proc``."""
    log = Path(tempfile.mkstemp(prefix="bench-celery-", suffix=".log")[1])
    cmd = [
        str(BIN / "celery"),
        "-A",
        "jopay_project",
        "worker",
        "--pool",
        "prefork",
        "--concurrency",
        str(concurrency),
        "--loglevel",
        "WARNING",
        "--without-heartbeat",
        "--without-gossip",
        "--without-mingle",
    ]
    with log.open("wb") as out:
        popen = subprocess.Popen(
            cmd, cwd=ROOT, env=env or bench_env(), stdout=out, stderr=out
        )
    proc = Proc(popen=popen, log=log)
    try:
        deadline = time.monotonic() + 60
        while len(proc.workers()) < concurrency:
            if popen.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("celery worker did not start:\n" + proc.log_tail())
            time.sleep(0.2)
        yield proc
    finally:
        # Warm shutdown (SIGTERM) lets running tasks finish, as in a deploy.
        _stop(popen)
        log.unlink(missing_ok=True)


# --- wrk -----------------------------------------------------------------------------

WRK_INSTALL_HINT = (
    "bench: wrk is not installed; install it with\n"
    "    apt-get install -y --no-install-recommends wrk\n"
    "(it is the load generator of every HTTP benchmark here)"
)


def require_wrk() -> str:
    path = shutil.which("wrk")
    if not path:
        sys.exit(WRK_INSTALL_HINT)
    return path


# The part of every wrk script that is not about the request itself:
# - pacing (``rate`` argument, total requests/s over all threads): ``delay()``
#   hands each connection the next slot of a per-thread schedule, so the sent
#   rate stays fixed whatever the latency, as long as a connection is free;
#   without ``rate`` wrk runs closed-loop (each connection sends as soon as the
#   previous answer arrived), which measures peak throughput;
# - status counting per thread, merged in ``done()``, printed as one JSON line.
# LuaJIT's ffi gives a monotonic clock; plain Lua only has whole seconds.
WRK_PRELUDE = r"""
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
]]
local _ts = ffi.new("bench_timespec[1]")
local function now_ms()
  ffi.C.clock_gettime(1, _ts)  -- CLOCK_MONOTONIC
  return tonumber(_ts[0].tv_sec) * 1000 + tonumber(_ts[0].tv_nsec) / 1e6
end

local threads = {}
local thread_count = 0
function setup(thread)
  thread_count = thread_count + 1
  thread:set("thread_id", thread_count)
  table.insert(threads, thread)
end

bench = {}
statuses = {}
local interval_ms = nil
local next_slot = nil

function init(args)
  for _, arg in ipairs(args) do
    local k, v = arg:match("^([%w_]+)=(.*)$")
    if k then bench[k] = v end
  end
  math.randomseed(tonumber(bench.seed or "1") * 1000 + thread_id)
  if bench.rate and tonumber(bench.rate) > 0 then
    interval_ms = 1000.0 * tonumber(bench.threads) / tonumber(bench.rate)
  end
  if bench_init then bench_init() end
end

if true then
  function delay()
    if not interval_ms then return 0 end
    local now = now_ms()
    if not next_slot then next_slot = now end
    local slot = next_slot
    next_slot = next_slot + interval_ms
    local wait = slot - now
    if wait < 0 then return 0 end
    return math.floor(wait)
  end
end

function response(status, headers, body)
  local k = tostring(status)
  statuses[k] = (statuses[k] or 0) + 1
end

function done(summary, latency, requests)
  local merged = {}
  for _, t in ipairs(threads) do
    local s = t:get("statuses")
    for k, v in pairs(s) do merged[k] = (merged[k] or 0) + v end
  end
  local parts = {}
  for k, v in pairs(merged) do
    table.insert(parts, string.format('"%s": %d', k, v))
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"duration_us": %d, "requests": %d, "bytes": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, ' ..
    '"timeout": %d}, "latency_us": {"min": %d, "mean": %.1f, "max": %d, ' ..
    '"stdev": %.1f, "p50": %d, "p90": %d, "p99": %d, "p999": %d}, ' ..
    '"statuses": {%s}}\n',
    summary.duration, summary.requests, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency.max, latency.stdev,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), table.concat(parts, ", ")))
end
"""


@dataclass
class WrkResult:
    label: str
    url: str
    connections: int
    threads: int
    duration_s: float
    target_rate: float | None
    requests: int
    rps: float
    latency_ms: dict[str, float]
    statuses: dict[str, int]
    errors: dict[str, int]
    command: str
    # Milliseconds of CPU per answered request, by process role (cpu_seconds).
    cpu_ms_per_request: dict[str, float] = field(default_factory=dict)

    @property
    def ok_requests(self) -> int:
        return sum(v for k, v in self.statuses.items() if k.startswith("2"))

    @property
    def bad_requests(self) -> int:
        return self.requests - self.ok_requests

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "url": self.url,
            "connections": self.connections,
            "threads": self.threads,
            "duration_s": round(self.duration_s, 2),
            "target_rate": self.target_rate,
            "requests": self.requests,
            "rps": round(self.rps, 1),
            "latency_ms": self.latency_ms,
            "statuses": self.statuses,
            "socket_errors": self.errors,
            "cpu_ms_per_request": self.cpu_ms_per_request,
            "command": self.command,
        }


def run_wrk(
    url: str,
    *,
    label: str,
    lua_request: str,
    lua_args: dict[str, str] | None = None,
    duration: int = 20,
    connections: int = 8,
    threads: int = 2,
    rate: float | None = None,
    timeout: int = 10,
) -> WrkResult:
    """Run wrk against ``url`` with ``lua_request`` (defines ``request()``, may
    define ``bench_init()``; reads its arguments from the ``bench`` table).

    ``rate`` (requests/s over all threads) paces it; otherwise closed-loop.
    """
    wrk = require_wrk()
    args = {
        "threads": str(threads),
        "seed": str(secrets.randbelow(10**6)),
        **(lua_args or {}),
    }
    if rate:
        args["rate"] = f"{rate:.3f}"
    with tempfile.NamedTemporaryFile(
        "w", prefix="bench-", suffix=".lua", delete=False
    ) as script:
        script.write(WRK_PRELUDE + "\n" + lua_request)
    try:
        cmd = [
            wrk,
            f"-t{threads}",
            f"-c{connections}",
            f"-d{duration}s",
            f"--timeout={timeout}s",
            "-s",
            script.name,
            url,
            "--",
            *(f"{k}={v}" for k, v in args.items()),
        ]
        cpu_before = cpu_seconds()
        out = subprocess.run(
            cmd, capture_output=True, text=True, check=False, timeout=duration + 60
        )
        cpu_after = cpu_seconds()
    finally:
        os.unlink(script.name)
    line = next(
        (ln for ln in out.stdout.splitlines() if ln.startswith("BENCH_JSON ")), None
    )
    if out.returncode != 0 or line is None:
        raise RuntimeError(
            f"wrk failed ({out.returncode}):\n{out.stdout}\n{out.stderr}"
        )
    data = json.loads(line.removeprefix("BENCH_JSON "))
    seconds = data["duration_us"] / 1e6
    shown = " ".join(
        c if not c.endswith(".lua") else "<script>" for c in cmd[: -len(args)]
    )
    secret_free = {k: v for k, v in args.items() if k not in ("key", "merchants")}
    return WrkResult(
        label=label,
        url=url,
        connections=connections,
        threads=threads,
        duration_s=seconds,
        target_rate=round(rate, 1) if rate else None,
        requests=data["requests"],
        rps=data["requests"] / seconds if seconds else 0.0,
        latency_ms={k: round(v / 1000, 2) for k, v in data["latency_us"].items()},
        statuses=data["statuses"],
        errors=data["errors"],
        command=shown + " " + " ".join(f"{k}={v}" for k, v in secret_free.items()),
        cpu_ms_per_request={
            role: round(1000 * (cpu_after[role] - cpu_before.get(role, 0.0)) / done, 3)
            for role in cpu_after
            if (done := data["requests"])
        },
    )


def cpu_seconds() -> dict[str, float]:
    """CPU seconds (user + system) used so far, summed by process role.

    Roles: ``gunicorn`` (master and workers), ``postgres`` (every backend),
    ``redis``, ``celery``, and ``wrk``: the load generator has exited by the
    time it is read, so it counts through this process's reaped children.
    Two readings around a run give where its CPU went (a process that started
    or ended in between counts only what it used while alive).
    """
    tick = os.sysconf("SC_CLK_TCK")
    totals = {"gunicorn": 0.0, "postgres": 0.0, "redis": 0.0, "celery": 0.0}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:  # gone meanwhile, or not ours to read
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        used = (int(fields[11]) + int(fields[12])) / tick  # utime + stime
        if b"gunicorn" in cmdline:
            totals["gunicorn"] += used
        elif b"celery" in cmdline:
            totals["celery"] += used
        elif comm.startswith("postgres"):
            totals["postgres"] += used
        elif comm.startswith("redis-server"):
            totals["redis"] += used
    children = os.times()
    totals["wrk"] = children.children_user + children.children_system
    return totals


# --- a webhook receiver -------------------------------------------------------------


class WebhookReceiver:
    """A local HTTPS receiver (``trustme`` CA) that answers 200 to every POST.

    Threads in this process; ``received`` holds ``(time.time(), body)`` of
    every POST in arrival order (the JSON payload, or ``None`` if it was not
    JSON). Point an endpoint at ``url`` and give the processes that send
    ``env()``, which trusts the CA and allows the loopback host (D26).
    """

    def __init__(self) -> None:
        import ssl
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        import trustme

        self.ca = trustme.CA()
        self.ca_file = Path(tempfile.mkstemp(prefix="bench-ca-", suffix=".pem")[1])
        self.ca.cert_pem.write_to_path(str(self.ca_file))
        self.received: list[tuple[float, Any]] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                arrived = time.time()
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = None
                with receiver._lock:
                    receiver.received.append((arrived, body))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ca.issue_cert("127.0.0.1").configure_cert(context)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def count(self) -> int:
        return len(self.received)

    def env(self) -> dict[str, str]:
        return {
            "JOPAY_WEBHOOK_CA_BUNDLE": str(self.ca_file),
            "JOPAY_WEBHOOK_ALLOW_PRIVATE_HOSTS": "1",
        }

    def first(self, event: str, request_id: str) -> float | None:
        """When the first ``event`` for ``request_id`` arrived, or None."""
        with self._lock:
            for arrived, body in self.received:
                if isinstance(body, dict) and (
                    body.get("event"),
                    body.get("request_id"),
                ) == (event, request_id):
                    return arrived
        return None

    def stop(self) -> None:
        self.server.shutdown()
        self.ca_file.unlink(missing_ok=True)


# --- machine and results -------------------------------------------------------------


def _first(pattern: str, text: str) -> str:
    match = re.search(pattern, text, re.MULTILINE)
    return match.group(1).strip() if match else "unknown"


def machine_info() -> dict[str, Any]:
    """What the figures were measured on (call after ``setup_django()``)."""
    from django.db import connection

    cpuinfo = Path("/proc/cpuinfo").read_text()
    meminfo = Path("/proc/meminfo").read_text()
    with connection.cursor() as cursor:
        cursor.execute("show server_version")
        pg_version = cursor.fetchone()[0]
        cursor.execute("show fsync")
        pg_fsync = cursor.fetchone()[0]
        cursor.execute("show synchronous_commit")
        pg_sync = cursor.fetchone()[0]
    import django
    import gunicorn as gunicorn_pkg
    import redis

    redis_info = redis.Redis.from_url(redis_url()).info("server")
    wrk = shutil.which("wrk")
    wrk_version = (
        subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False)
        .stdout.split("[")[0]
        .strip()
        if wrk
        else None
    )
    return {
        "nproc": os.cpu_count(),
        "cpu_model": _first(r"^model name\s*:\s*(.+)$", cpuinfo),
        "ram_gib": round(int(_first(r"^MemTotal:\s*(\d+)", meminfo)) / 1024**2, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "django": django.get_version(),
        "gunicorn": gunicorn_pkg.__version__,
        "postgresql": pg_version,
        "postgresql_fsync": pg_fsync,
        "postgresql_synchronous_commit": pg_sync,
        "redis": redis_info.get("redis_version"),
        "wrk": wrk_version,
        "note": (
            "load generator and servers share the same cores; "
            "PostgreSQL and Redis run on the same machine"
        ),
    }


def write_results(name: str, data: dict[str, Any]) -> Path:
    """Write ``bench/results/<name>.json`` (stamped with the time) and return it."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    stamped = {"benchmark": name, "measured_at": _now_iso(), **data}
    path.write_text(json.dumps(stamped, indent=2, sort_keys=False) + "\n")
    return path


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def print_table(headers: list[str], rows: list[list[Any]]) -> None:
    cells = [[str(c) for c in row] for row in [headers, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for n, row in enumerate(cells):
        print(
            "  ".join(
                c.rjust(w) if i else c.ljust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if n == 0:
            print("  ".join("-" * w for w in widths))
