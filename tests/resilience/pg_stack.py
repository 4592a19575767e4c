"""JoPay's processes on a throwaway PostgreSQL (``pg_cluster``): the database
drills' shared set-up. The children run the production settings (persistent
connections with ``conn_health_checks``, the connect timeout), not the test
settings, which turn both off."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.live import ROOT, child_env, free_port

from .pg_cluster import ThrowawayPostgres

# Migrate, then Alice with generous limits, a merchant, a pinned EUR rate and
# (when a URL is given) a webhook endpoint; prints her API key and merchant id.
SEED = """
import json, django
django.setup()
from decimal import Decimal
from django.core.management import call_command
call_command("migrate", verbosity=0)
from payments.services.fx import fx_rate_set_manual
from tests.factories import MerchantFactory, PartnerFactory, make_key
from webhooks.services import webhook_endpoint_set
from jopay_project.ratelimits import LIMITS
partner = PartnerFactory(slug="alice-pay", name="Alice Pay", rate_limit_overrides={
    group: "100000/m" for group, limit in LIMITS.items() if limit.per == "API key"})
fx_rate_set_manual(currency="EUR", rate=Decimal("0.92"))
merchant = MerchantFactory(partner=partner, test_mode=False)
if %(url)r:
    webhook_endpoint_set(partner=partner, url=%(url)r, enabled=True)
print(json.dumps({"key": make_key(partner), "merchant": str(merchant.pk)}))
"""


def stack_env(cluster: ThrowawayPostgres, tmp_path: Path, **extra: str) -> dict:
    return child_env(
        DJANGO_SETTINGS_MODULE="jopay_project.settings",
        DATABASE_URL=cluster.url("jopay"),
        DEBUG="0",
        SECRET_KEY="drill-" + "x" * 50,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        JOPAY_PUBLIC_BASE_URL="http://127.0.0.1",
        JOPAY_DATA_DIR=str(tmp_path / "data"),
        JOPAY_WEBHOOK_ALLOW_PRIVATE_HOSTS="1",
        JOPAY_FX_FEEDS="http://127.0.0.1:9/",  # nothing answers: no public feed
        CELERY_SKIP_CHECKS="1",
        LOG_LEVEL="WARNING",
        **extra,
    )


def seed(env: dict, webhook_url: str = "") -> dict[str, str]:
    """Create the database, migrate and seed it: ``{"key", "merchant"}``."""
    done = subprocess.run(
        [sys.executable, "-c", SEED % {"url": webhook_url}],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def celery(env: dict, log: Path, *args: str) -> subprocess.Popen:
    """``celery -A jopay_project <args>``, its output in ``log``."""
    cmd = [sys.executable, "-m", "celery", "-A", "jopay_project", *args]
    with log.open("ab") as fh:
        return subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=fh, stderr=subprocess.STDOUT
        )


def worker_and_beat(env: dict, tmp_path: Path) -> list[subprocess.Popen]:
    """A prefork worker (2 children) and beat, as ``make run`` starts them."""
    worker = ["worker", "--concurrency", "2", "--loglevel", "INFO"]
    worker += ["-n", f"pgdrill-{free_port()}@%h"]
    beat = ["beat", "--loglevel", "INFO", "-s", str(tmp_path / "beat-schedule")]
    return [
        celery(env, tmp_path / "worker.log", *worker),
        celery(env, tmp_path / "beat.log", *beat),
    ]
