"""``make run``'s ``.run/env`` holds DATABASE_URL and REDIS_URL, passwords
included: readable by the user who ran it only, as ``demo.json`` (D30)."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import time

from tests.docs.test_quickstart_live import _copy_tree, _stop
from tests.live import free_port


def test_the_env_file_is_readable_by_its_owner_only(tmp_path):
    workdir = tmp_path / "jopay"
    workdir.mkdir()
    _copy_tree(workdir)
    log = workdir / "bg1.log"
    environ = {
        **os.environ,
        "PORT": str(free_port()),
        "JOPAY_ANVIL_BIN": str(tmp_path / "no-anvil"),  # no chain needed
        "JOPAY_DATA_DIR": str(tmp_path / "data"),
    }
    environ.pop("DJANGO_SETTINGS_MODULE", None)
    with log.open("w") as out:
        proc = subprocess.Popen(
            ["bash", "scripts/run.sh"],
            cwd=workdir,
            env=environ,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    (workdir / "bg1.log.pid").write_text(str(proc.pid))
    try:
        deadline = time.monotonic() + 240
        while "JoPay is running" not in log.read_text():
            assert proc.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.5)
        env_file = workdir / ".run" / "env"
        assert "DATABASE_URL" in env_file.read_text()
        assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    finally:
        _stop(workdir)
        if proc.poll() is None:  # pragma: no cover - _stop ends the group
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
