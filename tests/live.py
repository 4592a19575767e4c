"""Running real JoPay processes (gunicorn, celery) against the test database.

Tests that need several processes use ``transactional_db`` so their rows are
committed and visible to the child processes, which get the same PostgreSQL
database (pytest-django's ``test_…`` one) and Redis through the environment.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import requests
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def stop(proc: subprocess.Popen, timeout: float = 10) -> None:
    """TERM, then KILL what has not exited within ``timeout`` seconds."""
    proc.terminate()
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def child_env(**extra: str) -> dict[str, str]:
    """The environment for a child process that must share this test's database."""
    db = connection.settings_dict
    auth = quote(db["USER"] or "postgres")
    if db.get("PASSWORD"):
        auth += ":" + quote(db["PASSWORD"])
    env = dict(os.environ)
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "jopay_project.test_settings",
            "DATABASE_URL": (
                f"postgresql://{auth}@{db['HOST'] or '127.0.0.1'}:"
                f"{db['PORT'] or 5432}/{db['NAME']}"
            ),
            "REDIS_URL": settings.REDIS_URL,
            "PYTHONPATH": str(ROOT),
        }
    )
    env.update(extra)
    return env


@contextmanager
def gunicorn(
    *, workers: int = 2, env: dict[str, str] | None = None, log_path: Path | None = None
):
    """A real gunicorn serving JoPay on a free loopback port; yields its base URL
    (its log goes to ``log_path`` when given, for a drill to read)."""
    port = free_port()
    # Its log goes to a file, not a pipe: nobody reads a pipe while the server
    # runs, so a chatty server would block once the pipe buffer is full.
    with log_path.open("w+b") if log_path else tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(
            [
                str(BIN / "gunicorn"),
                "jopay_project.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(workers),
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
            env=env or child_env(),
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            # Generous: booting several workers on a loaded 2-core box is slow.
            deadline = time.monotonic() + 90
            while True:
                try:
                    requests.get(base + "/api/v1/ping", timeout=5)  # any JSON 404
                    break
                except requests.RequestException:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        proc.kill()
                        proc.wait()
                        log.seek(0)
                        raise RuntimeError(log.read().decode()[-2000:]) from None
                    time.sleep(0.1)
            yield base
        finally:
            stop(proc)
