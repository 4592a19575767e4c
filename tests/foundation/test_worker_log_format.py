"""OPERATIONS.md sends the operator to the loggers ``jopay.*``: the worker's
lines must name theirs, as gunicorn's do. Celery's default format printed
``[time: WARNING/ForkPoolWorker-1] chain 8453: skipping RPC #0 …`` with no
logger, so a search for ``jopay.chain`` in the worker's log found nothing."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from tests.live import ROOT, child_env, stop


@pytest.mark.django_db(transaction=True)
def test_worker_lines_carry_their_logger_name(tmp_path):
    log_path = tmp_path / "worker.log"
    args = [sys.executable, "-m", "celery", "-A", "jopay_project", "worker"]
    args += ["--pool", "solo", "--loglevel", "INFO", "--without-mingle"]
    args += ["--without-gossip", "--without-heartbeat", "-n", "log-format@%h"]
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            args,
            cwd=ROOT,
            env=child_env(CELERY_SKIP_CHECKS="1"),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            while " ready." not in log_path.read_text():
                assert proc.poll() is None, log_path.read_text()
                assert time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.1)
        finally:
            stop(proc)
    lines = log_path.read_text().splitlines()
    connected = next(line for line in lines if "Connected to" in line)
    assert "/MainProcess] celery.worker.consumer.connection: Connected to" in (
        connected
    )
