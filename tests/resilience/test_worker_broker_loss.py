"""A worker that holds tasks when Redis goes away stays up and reconnects.

Found in the operator drills (OPERATIONS.md, "Redis is down"): the worker
exited with ``Unrecoverable error: AttributeError("'NoneType' object has no
attribute 'hostname'")``. On losing the broker, Celery 5.7 tears the
connection's transport down and then closes the connection; kombu's Redis
channel, closing, hands its unacknowledged messages back through that
transport, which has no client any more. Every task waiting for its
countdown (a proof check's retry) or in flight is such a message, so a Redis
restart stopped the workers until someone started them again.

Everything here runs as on a server: a redis-server of its own, stopped with
SHUTDOWN, a prefork worker with its default bootsteps, and the task sent by
another process.
"""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from tests.live import ROOT, child_env, stop

pytestmark = pytest.mark.live

SEND_HELD_TASK = (
    "import django; django.setup()\n"
    "from webhooks.tasks import send_due_deliveries_task as t\n"
    "t.apply_async(countdown=600)\n"
)
SEND_TASK = (
    "import django; django.setup()\n"
    "from webhooks.tasks import send_due_deliveries_task as t\n"
    "t.delay()\n"
)


@pytest.mark.django_db(transaction=True)
def test_a_worker_holding_a_task_survives_a_redis_restart(throwaway_redis, tmp_path):
    redis = throwaway_redis  # started and waited for, with a deadline
    port = redis.port
    env = child_env(REDIS_URL=redis.url, CELERY_SKIP_CHECKS="1")
    log_path = tmp_path / "worker.log"

    def wait_for_log(text: str, count: int = 1, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while log_path.read_text().count(text) < count:
            assert worker.poll() is None, "worker exited:\n" + log_path.read_text()
            assert time.monotonic() < deadline, log_path.read_text()[-3000:]
            time.sleep(0.1)

    args = [sys.executable, "-m", "celery", "-A", "jopay_project", "worker"]
    args += ["--loglevel", "INFO", "--concurrency", "1", "-n", f"held-{port}@%h"]
    with log_path.open("ab") as log:
        worker = subprocess.Popen(
            args, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        wait_for_log(" ready.")
        subprocess.run(
            [sys.executable, "-c", SEND_HELD_TASK], env=env, check=True, timeout=60
        )
        wait_for_log("send_due_deliveries")  # received; held for 600 s
        # A clean SHUTDOWN, as an operator's restart does (the fixture's
        # restart() is a hard kill).
        shutdown = ["redis-cli", "-p", str(port), "shutdown", "nosave"]
        subprocess.run(shutdown, capture_output=True, timeout=10)
        redis.proc.wait(10)
        wait_for_log("Connection to broker lost")
        time.sleep(3)
        assert worker.poll() is None, log_path.read_text()
        redis.start()  # same port, empty; fails after 10 s if it does not start
        wait_for_log("Connected to redis://", 2)
        subprocess.run(
            [sys.executable, "-c", SEND_TASK], env=env, check=True, timeout=60
        )
        wait_for_log("succeeded")  # it works on
    finally:
        stop(worker)
