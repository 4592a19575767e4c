"""Shared pieces of the resilience drills (``make resilience``: ``pytest -m live``).

Every drill runs real processes (gunicorn, Celery, redis-server, anvil) against
pytest-django's test database, so the tests use ``transactional_db``: rows must
be committed for the child processes to see them.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from decimal import Decimal

import pytest
from kombu import pools as kombu_pools

from jopay_project.celery import app as celery_app
from jopay_project.ratelimits import LIMITS
from payments.services.fx import fx_rate_set_manual
from tests.chain.conftest import (  # noqa: F401 (fixtures registered here)
    anvil,
    evm_snapshot,
    local_chain,
    make_request,
    usdc,
    w3,
)
from tests.factories import MerchantFactory, make_key
from tests.live import free_port

# Reused, not rewritten: the webhook suite's HTTPS receiver (trustme CA,
# programmable answers) and its worker process handle.
from tests.webhooks.conftest import (  # noqa: F401 (fixtures registered here)
    Answer,
    Worker,
    _receiver_ca,
    _receiver_server,
    endpoint_for,
    receiver,
)

# Far above any drill's call count (every per-key group of the D27 table): the
# drills measure behaviour, not the limiter.
GENEROUS_LIMITS = {
    group: "100000/m" for group, limit in LIMITS.items() if limit.per == "API key"
}


@pytest.fixture
def live_partner(transactional_db, partner):
    """Alice with generous rate limits and a pinned EUR rate (committed rows)."""
    partner.rate_limit_overrides = GENEROUS_LIMITS
    partner.save(update_fields=["rate_limit_overrides"])
    fx_rate_set_manual(currency="EUR", rate=Decimal("0.92"))
    return partner


@pytest.fixture
def live_merchant(live_partner):
    return MerchantFactory(partner=live_partner, test_mode=False)


@pytest.fixture
def live_key(live_partner):
    return make_key(live_partner)


# --- webhook drills: workers with our env ------------------------------------


@pytest.fixture
def start_worker(receiver, transactional_db, tmp_path):  # noqa: F811
    """``start_worker(**env)`` → a running Celery worker (a ``Worker`` handle) on
    the test database, trusting the receiver's CA; stopped at teardown."""
    from tests.live import child_env

    workers: list[Worker] = []

    def start(**extra: str) -> Worker:
        env = child_env(
            JOPAY_WEBHOOK_CA_BUNDLE=str(receiver.ca_path),
            JOPAY_WEBHOOK_ALLOW_PRIVATE_HOSTS="1",
            CELERY_SKIP_CHECKS="1",
            **extra,
        )
        worker = Worker(env, tmp_path / f"worker{len(workers)}.log")
        workers.append(worker)
        worker.start()
        return worker

    yield start
    for worker in workers:
        worker.stop()


# --- a Redis of our own ----------------------------------------------------------


@pytest.fixture
def throwaway_redis(tmp_path):
    """A redis-server of our own on a free port (never the machine's 6379), and
    the test process's Celery app pointed at it; ``restart()`` kills it hard and
    starts an empty one on the same port (queued tasks are gone)."""
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server is not installed (scripts/test_tools.sh installs it)")
    port = free_port()
    args = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", ""]
    args += ["--appendonly", "no", "--dir", str(tmp_path)]

    class Server:
        url = f"redis://127.0.0.1:{port}/0"
        proc: subprocess.Popen

        def start(self) -> None:
            self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL)
            deadline = time.monotonic() + 10
            while True:
                try:
                    socket.create_connection(("127.0.0.1", port), timeout=1).close()
                    return
                except OSError:
                    exited = self.proc.poll()
                    assert exited is None, f"redis-server exited ({exited})"
                    assert time.monotonic() < deadline, "redis-server did not start"
                    time.sleep(0.05)

        def kill(self) -> None:
            self.proc.kill()
            self.proc.wait()

        def restart(self) -> None:
            self.kill()
            self.start()

    def point_celery_at(url: str) -> None:
        # What Celery itself does after a fork: drop the cached pools (and
        # kombu's registry of them, so none is reused closed).
        kombu_pools.reset()
        celery_app._pool = None
        celery_app.amqp._producer_pool = None
        celery_app.conf.broker_url = url

    server = Server()
    server.port = port
    server.start()
    old_broker = celery_app.conf.broker_url
    point_celery_at(server.url)
    try:
        yield server
    finally:
        point_celery_at(old_broker)
        server.kill()
