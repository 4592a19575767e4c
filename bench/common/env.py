"""The bench database, its environment and the bench tenant."""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
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
        delete_in_batches(WebhookEvent.objects.filter(partner=partner))
        delete_in_batches(PaymentRequest.objects.filter(partner=partner))
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


def delete_in_batches(queryset, size: int = 10_000) -> None:
    """``queryset.delete()``, a batch at a time.

    Django's deletion collector looks up related rows with one ``IN`` list of
    every id, and PostgreSQL takes at most 65 535 parameters: one delete of
    the rows a long benchmark leaves (100 000+) failed outright.
    """
    while ids := list(queryset.values_list("pk", flat=True)[:size]):
        queryset.model.objects.filter(pk__in=ids).delete()


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
        # And the setup's own writes flushed now (a first run loads 1 M rows):
        # the checkpoint they call for otherwise falls into the timed phases
        # (create's p99 at half peak: 94 ms on a just-created database).
        cursor.execute("CHECKPOINT")
