"""The quickstart, run as written: its own bash blocks, in order, on a fresh copy.

This is the promise of ``/docs/quickstart/``: a reader who pastes every block
into a shell gets a paid, verified request and signed webhooks. The test
copies the source tree (as a reader's checkout), runs the blocks marked
``data-background`` (``make run`` and the receiver) in the background and the
rest in one shell session, then reads what the receiver printed.

It uses the quickstart's fixed ports (8000, 8443, 8545) and ``make run``'s
embedded default (SQLite, file-system Celery transport), exactly as a reader
would.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.docs.blocks import page_blocks

pytestmark = [pytest.mark.live, pytest.mark.chain]

ROOT = Path(__file__).resolve().parents[2]
PORTS = (8000, 8443, 8545)
READY = {1: "JoPay is running", 2: "listening on"}


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def _copy_tree(dest: Path) -> None:
    """Tracked and new (not ignored) files, mtimes kept so bootstrap sees no change."""
    listing = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listing.split("\0")):
        src = ROOT / name
        if src.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, dest / name)
    # The reader already ran `make install`: share the venv and anvil.
    (dest / ".venv").symlink_to(ROOT / ".venv")
    node = ROOT / ".run" / "node"
    if node.exists():
        (dest / ".run").mkdir(exist_ok=True)
        (dest / ".run" / "node").symlink_to(node)


def _script(workdir: Path) -> str:
    lines = ["set -euo pipefail", f"cd {shlex.quote(str(workdir))}"]
    background = 0
    for block in page_blocks("quickstart"):
        if block.lang != "bash":
            continue
        if block.attrs.get("data-background") == "true":
            background += 1
            script, log = (
                workdir / f"bg{background}.sh",
                workdir / f"bg{background}.log",
            )
            script.write_text(block.code)
            lines.append(f"setsid bash {script} > {log} 2>&1 & echo $! > {log}.pid")
            ready = shlex.quote(READY[background])
            lines.append(
                f"for i in $(seq 600); do grep -q {ready} {log} && break; sleep 0.5;"
                f" done; grep -q {ready} {log} || {{ tail -40 {log}; exit 3; }}"
            )
        else:
            lines.append(block.code.rstrip())
    return "\n".join(lines) + "\n"


def _process_groups_under(leader: int) -> set[int]:
    """The process groups of ``leader`` and every descendant (``make run`` starts
    gunicorn, Celery and anvil in groups of their own)."""
    parent_of: dict[int, int] = {}
    group_of: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        pid = int(stat.parent.name)
        parent_of[pid], group_of[pid] = int(fields[1]), int(fields[2])
    groups = set()
    for pid in parent_of:
        ancestor = pid
        while ancestor > 1 and ancestor != leader:
            ancestor = parent_of.get(ancestor, 0)
        if ancestor == leader:
            groups.add(group_of[pid])
    return groups


def _group_alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


def _stop(workdir: Path) -> None:
    """TERM each background block, wait for its stack to stop, then KILL leftovers.

    ``make run`` stops its children on TERM; whatever it could not stop in
    time (or everything, if it was killed first) would otherwise outlive the
    test and hold the quickstart's ports for the next run.
    """
    groups: set[int] = set()
    for pidfile in workdir.glob("bg*.log.pid"):
        try:
            leader = int(pidfile.read_text())
        except ValueError:
            continue
        groups |= _process_groups_under(leader) | {leader}
        with contextlib.suppress(ProcessLookupError):
            os.killpg(leader, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and any(_group_alive(g) for g in groups):
        time.sleep(0.5)
    for group in groups:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)


def _read(path: Path) -> str:
    return path.read_text() if path.exists() else ""


def _expected_lines(workdir: Path) -> list[str]:
    request = json.loads(_read(workdir / ".run" / "request.json") or "{}")
    request_id = request.get("request_id", "<no request>")
    events = (
        "webhook.test",
        f"payment.proof_attached {request_id}",
        f"payment.proof_verified {request_id}",
    )
    return [f"signature OK  {event}" for event in events]


def _wait_for(log: Path, lines: list[str], *, timeout: float) -> str:
    """The log once it holds every line (or at the deadline)."""
    deadline = time.monotonic() + timeout
    while True:
        text = _read(log)
        if all(line in text for line in lines) or time.monotonic() > deadline:
            return text
        time.sleep(0.5)


def test_the_quickstart_runs_as_written(tmp_path):
    busy = [p for p in PORTS if not _port_free(p)]
    assert busy == [], f"the quickstart needs ports {busy} free"
    workdir = tmp_path / "jopay"
    workdir.mkdir()
    _copy_tree(workdir)
    # A reader's shell: none of the test run's settings (DEBUG, SECRET_KEY, …).
    env = {
        k: v
        for k, v in os.environ.items()
        if k in ("PATH", "HOME", "USER", "LANG", "LC_ALL", "TMPDIR", "TERM")
    }
    try:
        result = subprocess.run(
            ["bash", "-c", _script(workdir)],
            cwd=workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        # The worker delivers webhooks after the state changes the script
        # polled for: give the receiver time to print them.
        expected = _expected_lines(workdir)
        receiver = _wait_for(
            workdir / "bg2.log", expected, timeout=120 if result.returncode == 0 else 0
        )
        stack = _read(workdir / "bg1.log")
    finally:
        _stop(workdir)
    context = (
        f"\n--- script\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        f"\n--- make run\n{stack[-3000:]}\n--- receiver\n{receiver[-2000:]}"
    )
    assert result.returncode == 0, context
    assert "paid verified" in result.stdout, context
    for line in expected:
        assert line in receiver, context
    assert "signature BAD" not in receiver, context
