"""Benchmark: what each migration locks, and for how long, on a large busy database.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/jopay_bench \\
        .venv/bin/python -m bench.migration_locks [--rows 1000000]

1. Drops and creates ``<bench database>_migrations`` (its own: it is migrated
   from zero) and brings the apps to their first migrations, then fills the
   large tables with server-side ``INSERT … SELECT generate_series`` (as
   ``bench.list_pagination`` does): ``--rows`` payment requests, webhook events,
   deliveries and attempts, a tenth as many merchants, a fifth as many plans.
2. Applies every other project migration alone, in the plan's order, with
   ``manage.py migrate APP NAME``, while one connection per table inserts rows
   as the previous release writes them (the columns the table had before the
   migration, copied from a row) and reads a row by key, and another polls
   ``pg_locks`` every 10 ms for strong locks held on those tables.
3. Prints, per migration: its time, the strong locks seen and how long, the
   worst insert/read stall, and the old-code inserts refused after it; writes
   ``bench/results/migration_locks.json``. docs/MIGRATIONS.md reads it.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import threading
import time
from urllib.parse import urlsplit, urlunsplit

import psycopg

from bench import common

APPS = ("merchants", "payments", "webhooks", "recurring")
STRONG = {"ShareLock", "ShareRowExclusiveLock", "ExclusiveLock", "AccessExclusiveLock"}
PARTNER = "11111111-1111-1111-1111-111111111111"
MERCHANT = "22222222-2222-2222-2222-222222222222"
TYPE_DEFAULT = {
    "boolean": "false", "integer": "0", "smallint": "0", "bigint": "0",
    "character varying": "''", "text": "''", "jsonb": "'{}'::jsonb",
    "timestamp with time zone": "now()", "numeric": "1", "uuid": "gen_random_uuid()",
}  # fmt: skip
# A probe's copy of a row: new keys, unique columns cleared.
PROBE_VALUES = {
    "id": "gen_random_uuid()",
    "reference": "substr(md5(random()::text), 1, 12)",
    "slug": "'probe' || substr(md5(random()::text), 1, 8)",
    "number": "(random() * 2000000000)::int",
    **dict.fromkeys(
        ("event_id", "request_id", "sequence", "idempotency_key", "tx_hash"), "NULL"
    ),
}
# One row per partner or chain, or keyed by the request: probes only read them.
READ_ONLY = {
    "payments_chain",
    "webhooks_webhookendpoint",
    "webhooks_requesteventsequence",
}


def columns(c, table):
    return c.execute(
        "select column_name, is_nullable, data_type, is_identity from "
        "information_schema.columns where table_name = %s order by ordinal_position",
        [table],
    ).fetchall()


def primary_key(c, table):
    return c.execute(
        "select a.attname from pg_index i join pg_attribute a on a.attrelid = "
        "i.indrelid and a.attnum = any(i.indkey) where i.indrelid = %s::regclass "
        "and i.indisprimary",
        [table],
    ).fetchone()[0]


def fill(c, table, rows, values, source="generate_series(1, {rows}) AS i"):
    """One INSERT … SELECT; columns not in ``values`` get NULL or a type default."""
    names, exprs = [], []
    for name, nullable, dtype, identity in columns(c, table):
        if identity == "YES" and name not in values:
            continue
        names.append(f'"{name}"')
        default = "NULL" if nullable == "YES" else TYPE_DEFAULT[dtype]
        exprs.append(values.get(name, default))
    started = time.perf_counter()
    c.execute(
        f"INSERT INTO {table} ({', '.join(names)}) "  # noqa: S608
        f"SELECT {', '.join(exprs)} FROM {source.format(rows=int(rows))}"
    )
    c.execute(f"ANALYZE {table}")
    print(f"filled {table}: {rows} rows in {time.perf_counter() - started:.1f} s")


def fill_initial(c, rows):
    first = "case when i = 1 then '{}'::uuid else gen_random_uuid() end"
    fill(c, "merchants_partner", 10, {
        "id": first.format(PARTNER), "slug": "'p' || i", "name": "'Partner ' || i",
        "default_currency": "'EUR'", "enabled_currencies": "'[\"EUR\"]'::jsonb",
        "min_fiat_per_request": "100", "pos_expiry_seconds": "3600",
        "invoice_expiry_seconds": "604800", "primary_color": "'#2563EB'",
        "secondary_color": "'#0F172A'", "is_active": "true"})  # fmt: skip
    fill(c, "merchants_merchant", rows // 10, {
        "id": first.format(MERCHANT), "partner_id": f"'{PARTNER}'",
        "display_name": "'m' || i", "account_type": "'business'",
        "onboarding_status": "'complete'",
        "wallet_address": "'0x' || substr(md5(i::text), 1, 40)",
        "created_at": "now() - make_interval(secs => i)"})  # fmt: skip
    fill(c, "payments_paymentrequest", rows, {
        "id": "gen_random_uuid()", "partner_id": f"'{PARTNER}'",
        "merchant_id": f"'{MERCHANT}'", "reference": "'L' || lpad(to_hex(i), 8, '0')",
        "status": "(array['expired','paid','cancelled','expired','requested'])"
        "[1 + i % 5]",
        "proof_status": "case when i % 5 = 1 then 'verified' else 'none' end",
        "chain_id": "case when i % 5 = 1 then 8453 end",
        "tx_hash": "case when i % 5 = 1 then '0x' || md5(i::text) || md5((-i)::text)"
        " end",
        "payment_mode": "'pos'", "fiat_int": "100 + i % 100000", "fiat_code": "'EUR'",
        "usdc_micro": "1000000 + i", "fx_rate": "0.92", "fx_source": "'manual'",
        "memo": "'bench'", "metadata": "jsonb_build_object('order', i::text)",
        "receiving_address": "'0x' || substr(md5((i % 1000)::text), 1, 40)",
        "created_at": "now() - make_interval(secs => i / 3)", "updated_at": "now()",
        "expires_at": "now() - make_interval(secs => i / 3) + interval '1 hour'",
    })  # fmt: skip
    # Three events a request, numbered 1-3 (what webhooks 0004 carries over).
    fill(c, "webhooks_webhookevent", rows, {
        "id": "gen_random_uuid()", "partner_id": f"'{PARTNER}'",
        "type": "'payment.proof_verified'", "request_id": "md5((i / 3)::text)::uuid",
        "sequence": "i % 3 + 1", "payload": "jsonb_build_object('event', 'x', 'i', i)",
        "created_at": "now() - make_interval(secs => i / 3)"},
        source="generate_series(3, {rows} + 2) AS i")  # fmt: skip


def fill_outbox(c, rows):
    fill(c, "webhooks_webhookendpoint", 1, {
        "partner_id": f"'{PARTNER}'", "url": "'https://example.test/hook'",
        "secret": "'s'", "enabled": "true", "created_at": "now()",
        "updated_at": "now()"})  # fmt: skip
    endpoint = c.execute("select id from webhooks_webhookendpoint").fetchone()[0]
    fill(c, "webhooks_webhookdelivery", rows, {
        "id": "gen_random_uuid()", "partner_id": f"'{PARTNER}'", "event_id": "e.id",
        "endpoint_id": str(int(endpoint)), "attempts": "1",
        "state": "case when random() < 0.03 then 'pending' else 'delivered' end",
        "created_at": "e.created_at", "updated_at": "e.created_at",
        "next_attempt_at": "e.created_at"},
        source="webhooks_webhookevent e")  # fmt: skip
    fill(c, "webhooks_webhookattempt", rows, {
        "delivery_id": "d.id", "number": "1", "started_at": "d.created_at",
        "status_code": "200", "latency_ms": "40"},
        source="webhooks_webhookdelivery d")  # fmt: skip


def fill_plans(c, rows):
    fill(c, "recurring_plan", rows // 5, {
        "id": "gen_random_uuid()", "partner_id": f"'{PARTNER}'",
        "merchant_id": f"'{MERCHANT}'", "fiat_amount_int": "1000", "fiat_code": "'EUR'",
        "frequency": "'monthly'", "collection": "'invoice'", "status": "'active'",
        "customer_wallet": "'0x' || substr(md5(i::text), 1, 40)", "anchor_at": "now()",
        "next_charge_at": "now() + make_interval(secs => i)",
        "created_at": "now() - make_interval(secs => i)", "updated_at": "now()",
    })  # fmt: skip


class Probe(threading.Thread):
    """The previous release on one table: inserts (its columns only) and reads."""

    def __init__(self, url, table, stop):
        super().__init__(daemon=True)
        self.table, self.stop = table, stop
        self.c = psycopg.connect(url, autocommit=True)
        self.pid = self.c.info.backend_pid
        key = primary_key(self.c, table)
        self.key = self.c.execute(f"select {key} from {table} limit 1").fetchone()[0]  # noqa: S608
        names = [n for n, _, _, ident in columns(self.c, table) if ident != "YES"]
        exprs = [PROBE_VALUES.get(n, f'"{n}"') for n in names]
        self.insert = None
        if table not in READ_ONLY:
            quoted = ", ".join(f'"{n}"' for n in names)
            self.insert = (
                f"INSERT INTO {table} ({quoted}) "  # noqa: S608
                f"SELECT {', '.join(exprs)} FROM {table} WHERE {key} = %s"
            )
        self.read = f"SELECT 1 FROM {table} WHERE {key} = %s"  # noqa: S608
        self.worst = {"insert": 0.0, "read": 0.0}
        self.refused: dict[str, int] = {}

    def run(self):
        self.c.execute("set statement_timeout = '120s'")
        while not self.stop.is_set():
            for kind, sql in (("insert", self.insert), ("read", self.read)):
                if sql is None:
                    continue
                started = time.perf_counter()
                try:
                    self.c.execute(sql, [self.key])
                except psycopg.Error as error:
                    reason = str(error).splitlines()[0][:120]
                    self.refused[reason] = self.refused.get(reason, 0) + 1
                took = time.perf_counter() - started
                self.worst[kind] = max(self.worst[kind], took)
            time.sleep(0.01)


def watch_locks(url, stop, ignore, tables, seen):
    """Record first and last sight of each strong lock on ``tables`` by others."""
    with psycopg.connect(url, autocommit=True) as c:
        ignore.add(c.info.backend_pid)
        while not stop.is_set():
            now = time.perf_counter()
            for rel, mode in c.execute(
                "select l.relation::regclass::text, l.mode from pg_locks l "
                "where l.database = (select oid from pg_database where "
                "datname = current_database()) and l.granted and "
                "l.locktype = 'relation' and not (l.pid = any(%s))",
                [list(ignore)],
            ).fetchall():
                if mode in STRONG and rel in tables:
                    seen.setdefault(f"{rel} {mode}", [now, now])[1] = now
            time.sleep(0.01)


def migrate(url, *args):
    env = common.bench_env(DATABASE_URL=url, DEBUG="1")
    return subprocess.run(
        [str(common.BIN / "python"), "manage.py", *args],
        cwd=common.ROOT, env=env, capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip


SIZE = "select count(*), pg_total_relation_size('{t}') from {t}"


def step(url, app, name):
    """Apply one migration under the probes; its row of the results."""
    with psycopg.connect(url, autocommit=True) as c:
        sizes = {
            t: c.execute(SIZE.format(t=t)).fetchone()
            for (t,) in c.execute(
                "select relname from pg_class where relkind = 'r' and relname ~ %s",
                ["^(merchants|payments|webhooks|recurring)_"],
            ).fetchall()
        }
    busy = [t for t, (n, _) in sizes.items() if n]
    stop, seen = threading.Event(), {}
    probes = [Probe(url, t, stop) for t in busy]
    ignore = {p.pid for p in probes}
    watcher = threading.Thread(
        target=watch_locks, args=(url, stop, ignore, set(busy), seen), daemon=True
    )
    threads = [*probes, watcher]
    for thread in threads:
        thread.start()
    time.sleep(1.0)
    out = migrate(url, "migrate", app, name, "-v", "2")
    time.sleep(1.5)  # the old code goes on against the new schema
    stop.set()
    for thread in threads:
        thread.join()
    took = re.search(rf"Applying {app}\.{name}\.\.\. OK \(([\d.]+)s\)", out)
    return {
        "migration": f"{app}.{name}",
        "seconds": float(took[1]) if took else None,
        "tables": {
            t: {"rows": n, "mb": round(b / 2**20)} for t, (n, b) in sizes.items() if n
        },
        "locks_s": {k: round(last - first, 3) for k, (first, last) in seen.items()},
        "worst_insert_s": round(max(p.worst["insert"] for p in probes), 3),
        "worst_read_s": round(max(p.worst["read"] for p in probes), 3),
        "old_code_refused": {p.table: p.refused for p in probes if p.refused},
    }


def _short(lock: str) -> str:
    """'payments_paymentrequest AccessExclusiveLock' -> 'paymentrequest AX'."""
    table, mode = lock.split()
    letters = "".join(ch for ch in mode.removesuffix("Lock") if ch.isupper())
    return f"{table.split('_', 1)[1]} {letters}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args()
    parts = urlsplit(common.database_url())
    name = parts.path.lstrip("/") + "_migrations"
    url = urlunsplit(parts._replace(path=f"/{name}"))
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as c:
        c.execute(f'drop database if exists "{name}"')
        c.execute(f'create database "{name}"')
    for app in ("merchants", "payments", "webhooks"):
        migrate(url, "migrate", app, "0001", "-v", "0")
    results = []
    with psycopg.connect(url, autocommit=True) as c:
        fill_initial(c, args.rows)
        results.append(step(url, "webhooks", "0002_delivery_outbox"))
        fill_outbox(c, args.rows)
        results.append(step(url, "recurring", "0001_initial"))
        fill_plans(c, args.rows)
    plan = re.findall(r"\[ \]\s+(\w+)\.(\w+)", migrate(url, "showmigrations", "-p"))
    for app, migration in plan:
        if app in APPS:
            results.append(step(url, app, migration))
    common.print_table(
        ["migration", "s", "strong locks (s)", "stall ins/read", "old code refused"],
        [[r["migration"], r["seconds"],
          ", ".join(f"{_short(k)} {v}" for k, v in r["locks_s"].items()),
          f"{r['worst_insert_s']}/{r['worst_read_s']}",
          sum(n for t in r["old_code_refused"].values() for n in t.values())]
         for r in results],
    )  # fmt: skip
    path = common.write_results("migration_locks", {"rows": args.rows, "runs": results})
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
