"""PostgreSQL restarted, then unreachable for ~20 s, under load.

Everything runs as on a server, against a throwaway cluster of the drill's own
(``pg_cluster.py``; never the machine's 5432): gunicorn (2 workers), a prefork
Celery worker and beat, with the production settings (persistent connections,
``conn_health_checks``), the webhook suite's HTTPS receiver. A client creates
requests with idempotency keys and cancels each (every cancel writes one
``request.cancelled`` event and its delivery row, D23/D24), retrying a failed
call with the same key. Meanwhile the cluster gets (1) a fast restart and (2)
a 20 s outage. Expected:

* during the outage every API answer is a registry error envelope (errors.md:
  no code names the database, so ``api_error`` 500 with ``request_id``);
  never HTML, never a traceback;
* nothing half-written: one request per idempotency key; a request is
  cancelled exactly when its event and delivery row exist;
* once ``start()`` returns, the calls succeed (no stale-connection 500s);
* the worker and beat recover without a restart: every event is delivered,
  each under one ``delivery_id``;
* ``/readyz`` answers 503 ``database: down`` during the outage, 200 after.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import threading
import time
from collections import defaultdict

import psycopg
import pytest
import requests

from jopay_project.errors import ErrorCode
from tests.live import gunicorn, stop

from .pg_cluster import ThrowawayPostgres
from .pg_stack import seed, stack_env, worker_and_beat

pytestmark = pytest.mark.live

# Each request, its state, and how many events and delivery rows it has.
REQUESTS_WITH_OUTBOX = """
select r.id::text, r.idempotency_key, r.status,
  (select count(*) from webhooks_webhookevent e where e.request_id = r.id),
  (select count(*) from webhooks_webhookdelivery d
     join webhooks_webhookevent e on d.event_id = e.id where e.request_id = r.id)
from payments_paymentrequest r
"""
UNDELIVERED = "select count(*) from webhooks_webhookdelivery where state <> 'delivered'"
AGE_ENQUEUE_MARKS = """
update webhooks_webhookdelivery set enqueued_at = now() - interval '2 minutes'
where state = 'pending'
"""


class Client:
    """Create + cancel, each call retried with the same key until it succeeds
    (docs/site/errors.md: api_error is "try again later")."""

    def __init__(self, base: str, key: str, merchant: str):
        self.base, self.merchant = base, merchant
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {key}"
        # sent at, answered at, status, content type, body
        self.answers: list[tuple[float, float, int, str, str]] = []
        self.keys: dict[str, str | None] = {}  # idempotency key -> request id
        self.cancelled: set[str] = set()
        self.stop = threading.Event()

    def _call(self, method: str, path: str, body: dict) -> requests.Response | None:
        started = time.monotonic()
        try:
            r = self.session.request(method, self.base + path, json=body, timeout=30)
        except requests.RequestException:
            return None  # gunicorn itself never went away; counted as a failure
        self.answers.append(
            (
                started,
                time.monotonic(),
                r.status_code,
                r.headers.get("Content-Type", ""),
                r.text,
            )
        )
        return r

    def run(self) -> None:
        n = 0
        while not self.stop.is_set():
            n += 1
            key = secrets.token_hex(16)
            self.keys[key] = None
            body = {"merchant_id": self.merchant, "fiat_amount_int": 1000 + n}
            body["idempotency_key"] = key
            while not self.stop.is_set():
                r = self._call("POST", "/api/v1/requests/create", body)
                if r is not None and r.status_code in (200, 201):
                    self.keys[key] = r.json()["request_id"]
                    break
                time.sleep(0.1)
            request_id = self.keys[key]
            while request_id and not self.stop.is_set():
                r = self._call("POST", f"/api/v1/requests/{request_id}/cancel", {})
                if r is not None and r.status_code == 200:
                    self.cancelled.add(request_id)
                    break
                if r is not None and r.status_code == 409:  # cancelled by a lost answer
                    self.cancelled.add(request_id)
                    break
                time.sleep(0.1)


def _probe_every_route(base: str, seeded: dict, client: Client) -> dict:
    """Every API route (and the pay page's JSON ones) while the database is
    down, with the partner's key, a wrong key and none: (status, type, body)."""
    request_id = next(v for v in client.keys.values() if v)
    merchant = seeded["merchant"]
    get = [
        "requests",
        f"requests/{request_id}",
        "merchants",
        f"merchants/{merchant}",
        "fx/rates",
        "recurring/plans",
        f"recurring/plans/{merchant}",
        "webhooks/endpoint",
        "events",
        "no/such/route",
    ]
    post = [
        "requests/create",
        f"requests/{request_id}/cancel",
        "webhooks/test",
        "merchants",
        "recurring/plans",
        f"events/{merchant}/resend",
    ]
    keys = {"key": f"Bearer {seeded['key']}", "bad": "Bearer jp_live_" + "x" * 40}
    keys["none"] = ""
    answers = {}
    for who, auth in keys.items():
        headers = {"Authorization": auth} if auth else {}
        calls = [("GET", f"/api/v1/{p}", None) for p in get]
        calls += [("POST", f"/api/v1/{p}", {}) for p in post]
        calls += [("GET", f"/pay/{request_id}/status", None)]
        calls += [("POST", f"/pay/{request_id}/proof", {"tx_hash": "0x" + "1" * 64})]
        for method, path, body in calls:
            r = requests.request(
                method, base + path, json=body, headers=headers, timeout=30
            )
            answers[(who, method, path)] = (
                r.status_code,
                r.headers.get("Content-Type", ""),
                r.text,
            )
    return answers


def _readyz(base: str) -> tuple[int, dict]:
    r = requests.get(base + "/readyz", timeout=10)
    return r.status_code, r.json()


def _wait_for_successes(client: Client, count: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    start = len([a for a in client.answers if a[2] < 300])
    while len([a for a in client.answers if a[2] < 300]) < start + count:
        assert time.monotonic() < deadline, client.answers[-5:]
        time.sleep(0.05)


def test_postgres_restart_and_outage_under_load(receiver, tmp_path):
    cluster = ThrowawayPostgres()
    procs: list[subprocess.Popen] = []
    try:
        cluster.start()
        cluster.createdb("jopay")
        env = stack_env(
            cluster, tmp_path, JOPAY_WEBHOOK_CA_BUNDLE=str(receiver.ca_path)
        )
        seeded = seed(env, receiver.url("/hook"))
        worker_log, beat_log = tmp_path / "worker.log", tmp_path / "beat.log"
        procs += worker_and_beat(env, tmp_path)
        with gunicorn(workers=2, env=env, log_path=tmp_path / "web.log") as base:
            client = Client(base, seeded["key"], seeded["merchant"])
            traffic = threading.Thread(target=client.run, daemon=True)
            traffic.start()
            _wait_for_successes(client, 6)
            assert _readyz(base) == (
                200,
                {"ok": True, "checks": {"database": "ok", "cache": "ok"}},
            )

            # (1) a fast restart mid-traffic
            cluster.stop()
            cluster.start()
            restarted_at = time.monotonic()
            _wait_for_successes(client, 6)

            # (2) unreachable for ~20 s
            down_at = time.monotonic()
            cluster.stop()
            time.sleep(1)
            status, body = _readyz(base)
            readyz_down = (status, body)
            probed = _probe_every_route(base, seeded, client)
            time.sleep(max(0.0, down_at + 20 - time.monotonic()))
            up_count = len(client.answers)
            cluster.start()
            up_at = time.monotonic()
            readyz_up = _readyz(base)
            _wait_for_successes(client, 10)
            client.stop.set()
            traffic.join(40)
            assert not traffic.is_alive()

        # --- every answer: a success, or a registry envelope with its status --
        codes = {code.value: code.status for code in ErrorCode}
        failures = [a for a in client.answers if a[2] >= 300]
        for _sent, _answered, status, ctype, text in failures:
            assert ctype.startswith("application/json"), (status, text[:300])
            assert "Traceback" not in text, text[:300]
            body = json.loads(text)
            assert body["ok"] is False, body
            assert body["error"] in codes, body
            assert codes[body["error"]] == status, body
        assert any(down_at <= a[1] and a[0] < up_at for a in failures), "no outage"
        # Sent once the server was back (and answered before it went down
        # again): no call fails, no stale connection is used (conn_health_checks).
        after = [
            a
            for a in client.answers
            if a[0] >= up_at or (a[0] >= restarted_at and a[1] < down_at)
        ]
        late = [a[2:] for a in after if a[2] >= 300]
        assert late == [], (late[:3], (tmp_path / "web.log").read_text()[-6000:])
        assert up_count < len(client.answers)

        for route, (status, ctype, text) in probed.items():
            assert ctype.startswith("application/json"), (route, status, text[:300])
            assert json.loads(text)["error"] in codes, (route, text[:300])
            assert codes[json.loads(text)["error"]] == status, (route, text[:300])
        assert readyz_down == (
            503,
            {"ok": False, "checks": {"database": "down", "cache": "ok"}},
        )
        assert readyz_up[0] == 200, readyz_up

        # --- nothing half-written ------------------------------------------------
        with psycopg.connect(cluster.url("jopay"), autocommit=True) as db:
            rows = db.execute(REQUESTS_WITH_OUTBOX).fetchall()
        per_key = defaultdict(list)
        for request_id, key, status, events, deliveries in rows:
            per_key[key].append(request_id)
            expected = 1 if status == "cancelled" else 0
            assert (events, deliveries) == (expected, expected), (request_id, status)
        assert all(len(ids) == 1 for ids in per_key.values()), per_key
        made = {k: v for k, v in client.keys.items() if v}
        assert {k: v[0] for k, v in per_key.items()} == made
        assert client.cancelled <= {r[0] for r in rows if r[2] == "cancelled"}

        # --- worker and beat recover: each event delivered under one id --------
        # A send whose task met the outage is picked up again by beat's sweeper
        # once its enqueue mark is 60 s old (REENQUEUE_AFTER_SECONDS). As the
        # other drills do, the marks are aged instead of waiting that minute;
        # the sends themselves are the real worker's, on beat's real ticks.
        cancelled = {r[0] for r in rows if r[2] == "cancelled"}
        deadline = time.monotonic() + 45
        while True:
            with psycopg.connect(cluster.url("jopay"), autocommit=True) as db:
                pending = db.execute(UNDELIVERED).fetchone()[0]
                db.execute(AGE_ENQUEUE_MARKS)
            if pending == 0:
                break
            assert time.monotonic() < deadline, (
                pending,
                worker_log.read_text()[-3000:],
                beat_log.read_text()[-1500:],
            )
            time.sleep(0.5)
        for proc in procs:
            assert proc.poll() is None, "a Celery process exited"
        ids: dict[str, set[str]] = defaultdict(set)
        for got in receiver.received("/hook"):
            body = json.loads(got.body)
            assert body["delivery_id"] == got.headers["webhook-id"]
            ids[body["request_id"]].add(body["delivery_id"])
        assert set(ids) == cancelled
        assert all(len(v) == 1 for v in ids.values()), ids
    finally:
        for proc in procs:
            stop(proc)
        cluster.destroy()
