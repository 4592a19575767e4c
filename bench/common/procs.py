"""Processes of a run: gunicorn, a Celery worker, their memory and CPU."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common.env import BIN, ROOT, bench_env

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


def _spawn(cmd: list[str], name: str, env: dict[str, str] | None) -> Proc:
    """Start ``cmd`` in the repository with its output in a temporary log file."""
    log = Path(tempfile.mkstemp(prefix=f"bench-{name}-", suffix=".log")[1])
    with log.open("wb") as out:
        popen = subprocess.Popen(
            cmd, cwd=ROOT, env=env or bench_env(), stdout=out, stderr=out
        )
    return Proc(popen=popen, log=log)


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
    proc = _spawn(cmd, "gunicorn", env)
    proc.base = f"http://127.0.0.1:{port}"
    popen, log = proc.popen, proc.log
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
    proc = _spawn(cmd, "celery", env)
    popen, log = proc.popen, proc.log
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
