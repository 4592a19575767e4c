"""``make run`` (scripts/run.sh) as a developer meets it (D30).

- A DATABASE_URL whose database does not exist: the README says to create it
  first (``make run`` migrates it but does not create it); a developer who
  missed that got migrate's 40-line traceback. The script now stops before
  migrating, names the database error in one line and says how to create it.
- A DATABASE_URL of another database (mysql://) is refused in one line.
- A port something already listens on: gunicorn could not bind, but the other
  program answered the readiness check, so the banner said JoPay ran there.
- ``.run/env`` holds DATABASE_URL and REDIS_URL, passwords included: readable
  by the user who ran it only, as ``demo.json``.

Nothing is started when the script refuses.
"""

from __future__ import annotations

import os
import signal
import socket
import stat
import subprocess
import time
import uuid
from pathlib import Path

from tests.docs.test_quickstart_live import _copy_tree, _stop
from tests.live import ROOT, free_port


def run_environ(tmp_path: Path, **variables: str) -> dict[str, str]:
    """This process's environment for scripts/run.sh: a free PORT, no anvil
    (no chain started), a data dir of the test's own, then ``variables``."""
    environ = {
        **os.environ,
        "PORT": str(free_port()),
        "JOPAY_ANVIL_BIN": str(tmp_path / "no-anvil"),
        "JOPAY_DATA_DIR": str(tmp_path / "data"),
        **variables,
    }
    environ.pop("DJANGO_SETTINGS_MODULE", None)
    return environ


def run_refused(environ: dict[str, str]) -> subprocess.CompletedProcess:
    """scripts/run.sh run to its end, which must be a refusal: a non-zero exit
    and no banner claiming JoPay runs."""
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
    assert "JoPay is running" not in out
    return result


def test_a_missing_database_is_one_line_and_the_fix(tmp_path):
    name = f"jopay_missing_{uuid.uuid4().hex[:12]}"
    url = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + f"/{name}"
    result = run_refused(run_environ(tmp_path, DATABASE_URL=url))
    out = result.stdout + result.stderr
    assert f'database "{name}" does not exist' in result.stderr, out
    assert "createdb" in result.stderr, out
    assert "Traceback" not in out


def test_a_database_url_of_another_database_is_one_line_naming_it(tmp_path):
    """mysql:// ended in "Did you install mysqlclient?" and the advice to
    create the database; the refusal names the variable, and nothing else."""
    environ = run_environ(tmp_path, DATABASE_URL="mysql://jopay@127.0.0.1/jopay")
    result = run_refused(environ)
    assert result.stderr.strip().splitlines() == [
        "run: ERROR: DATABASE_URL must be a postgresql://user@host[:port]/database "
        "URL, not a mysql:// one (leave it unset for the embedded SQLite)"
    ], result.stdout + result.stderr


def test_a_busy_port_is_one_line_and_nothing_claims_to_run(tmp_path):
    """gunicorn could not bind, but the other program answered the readiness
    check: the banner said JoPay ran there (with this stack's test key) and
    .run/env pointed at it. The script now refuses before starting anything."""
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(8)
        port = busy.getsockname()[1]
        result = run_refused(run_environ(tmp_path, PORT=str(port)))
    out = result.stdout + result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"run: ERROR: 127.0.0.1:{port} is already in use; stop what runs there "
        "or set PORT to a free port"
    ), out
    assert "Applying" not in out  # refused before migrating


def test_the_env_file_is_readable_by_its_owner_only(tmp_path):
    workdir = tmp_path / "jopay"
    workdir.mkdir()
    _copy_tree(workdir)
    log = workdir / "bg1.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            ["bash", "scripts/run.sh"],
            cwd=workdir,
            env=run_environ(tmp_path),
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
