"""``make run`` on a port something already listens on (D30)."""

from __future__ import annotations

import os
import socket
import subprocess

from tests.live import ROOT


def test_a_busy_port_is_one_line_and_nothing_claims_to_run(tmp_path):
    """gunicorn could not bind, but the other program answered the readiness
    check: the banner said JoPay ran there (with this stack's test key) and
    .run/env pointed at it. The script now refuses before starting anything."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(8)
        port = busy.getsockname()[1]
        environ = {
            **os.environ,
            "PORT": str(port),
            "JOPAY_ANVIL_BIN": str(tmp_path / "no-anvil"),  # no chain either
            "JOPAY_DATA_DIR": str(tmp_path / "data"),
        }
        environ.pop("DJANGO_SETTINGS_MODULE", None)
        result = subprocess.run(
            ["bash", "scripts/run.sh"],
            cwd=ROOT,
            env=environ,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    out = result.stdout + result.stderr
    assert result.returncode != 0, out
    assert result.stderr.strip().splitlines()[-1] == (
        f"run: ERROR: 127.0.0.1:{port} is already in use; stop what runs there "
        "or set PORT to a free port"
    ), out
    assert "JoPay is running" not in out
    assert "Applying" not in out  # refused before migrating
