"""PostgreSQL that does not answer, rather than refusing: its postmaster hangs
(SIGSTOP), so a new connection's TCP handshake completes but its start-up
never gets a reply, as with a host behind a network that drops packets.

Found here: DATABASES had no ``connect_timeout``, so libpq waited for ever.
Every API call hung until gunicorn's 30 s worker timeout killed the worker,
and the caller got a dropped connection instead of an envelope; ``/readyz``
hung too, so a load balancer saw a timeout, not a 503. Now a connection
attempt gives up after ``JOPAY_DB_CONNECT_TIMEOUT`` seconds (default 5): the
call answers the registry's ``api_error`` and ``/readyz`` 503 at once.
"""

from __future__ import annotations

import time

import pytest
import requests

from tests.live import gunicorn

from .pg_cluster import ThrowawayPostgres
from .pg_stack import seed, stack_env

pytestmark = pytest.mark.live


def test_a_hung_database_is_answered_with_an_envelope_not_a_hang(tmp_path):
    cluster = ThrowawayPostgres()
    try:
        cluster.start()
        cluster.createdb("jopay")
        env = stack_env(cluster, tmp_path, JOPAY_DB_CONNECT_TIMEOUT="3")
        seeded = seed(env)
        session = requests.Session()
        session.headers["Authorization"] = f"Bearer {seeded['key']}"
        amounts = iter(range(1000, 2000))

        def create() -> requests.Response:
            body = {"merchant_id": seeded["merchant"], "fiat_amount_int": next(amounts)}
            return session.post(f"{base}/api/v1/requests/create", json=body, timeout=45)

        with gunicorn(workers=1, env=env, log_path=tmp_path / "web.log") as base:
            assert create().status_code == 201
            # The worker's connection dies with the restart; its next one
            # meets the hung postmaster.
            cluster.stop()
            cluster.start()
            cluster.freeze()
            try:
                started = time.monotonic()
                during = create()
                took = time.monotonic() - started
                started = time.monotonic()
                ready = requests.get(f"{base}/readyz", timeout=45)
                ready_took = time.monotonic() - started
            finally:
                cluster.thaw()
            after = create()

        assert during.status_code == 500, during.text[:300]
        assert during.json()["error"] == "api_error"
        assert "request_id" in during.json()
        # One connect timeout (3 s), not two: authentication is not tried
        # again to count the call (jopay_project/api.py).
        assert took < 5, took
        assert (ready.status_code, ready.json()["checks"]["database"]) == (503, "down")
        assert ready_took < 5, ready_took
        assert after.status_code == 201, after.text[:300]
    finally:
        cluster.destroy()
