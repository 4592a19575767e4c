"""scripts/services.sh and scripts/bootstrap.sh, run against stand-in tools.

Stubs on PATH stand for redis-cli and python3.11, so these tests neither talk
to the machine's Redis nor build a virtualenv.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

from tests.live import ROOT


def _stub(path, body: str) -> None:
    path.write_text("#!/usr/bin/env bash\n" + textwrap.dedent(body))
    path.chmod(0o755)


# --- services.sh: tests get their own Redis database --------------------------


@pytest.fixture
def redis_answers(tmp_path):
    """A redis-cli that answers PONG on every port; returns the PATH to use."""
    stubs = tmp_path / "stubs"
    stubs.mkdir()
    _stub(stubs / "redis-cli", "echo PONG\n")
    return f"{stubs}:{os.environ['PATH']}"


def _services_env(path: str, **extra: str) -> dict[str, str]:
    environ = {
        key: value
        for key, value in os.environ.items()
        if key not in ("REDIS_URL", "JOPAY_FORCE_THROWAWAY")
    }
    # Kept as it is, so the PostgreSQL half does nothing.
    environ.update(PATH=path, DATABASE_URL="postgresql://postgres@127.0.0.1/x")
    environ.update(extra)
    result = subprocess.run(
        ["bash", str(ROOT / "scripts" / "services.sh"), "env"],
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return dict(re.findall(r"^export (\w+)=(.*)$", result.stdout, re.M))


def test_tests_use_redis_database_15_on_the_machines_redis(redis_answers):
    # Database 0 is where `make run` keeps its Celery queue and rate limits;
    # the suite empties its database before every test.
    assert _services_env(redis_answers)["REDIS_URL"] == "redis://127.0.0.1:6379/15"


def test_tests_use_redis_database_15_on_the_throwaway_redis(redis_answers):
    got = _services_env(redis_answers, JOPAY_FORCE_THROWAWAY="1")
    assert got["REDIS_URL"] == "redis://127.0.0.1:56379/15"


def test_an_exported_redis_url_is_kept_as_it_is(redis_answers):
    got = _services_env(redis_answers, REDIS_URL="redis://127.0.0.1:6379/0")
    assert got["REDIS_URL"] == "redis://127.0.0.1:6379/0"


def test_stop_never_kills_a_process_that_reused_a_stale_redis_pid(tmp_path):
    # CI runs `services.sh stop` on every exit and `make clean` runs it too; a
    # pidfile left by a crashed Redis may name an unrelated process by then.
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "services.sh", tmp_path / "scripts")
    (tmp_path / ".run" / "redis").mkdir(parents=True)
    bystander = subprocess.Popen(["sleep", "60"])
    try:
        pidfile = tmp_path / ".run" / "redis" / "redis.pid"
        pidfile.write_text(f"{bystander.pid}\n")
        result = subprocess.run(
            ["bash", str(tmp_path / "scripts" / "services.sh"), "stop"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert bystander.poll() is None, "services.sh stop killed an unrelated process"
        assert not pidfile.exists()  # the stale pidfile is cleared
    finally:
        bystander.kill()
        bystander.wait()


# --- bootstrap.sh: a half-made .venv is rebuilt -------------------------------

# Enough of python3.11 for bootstrap.sh: the version check passes, `-m venv`
# makes a venv (with pip), and `-m pip` works only where a pip sits beside it.
FAKE_PYTHON = """\
here=$(dirname "$0")
echo "$*" >>"$FAKE_PYTHON_LOG"
case "$1 ${2:-}" in
    "-c "*) exit 0 ;;
    "-m venv") mkdir -p "$3/bin"; cp "$0" "$3/bin/python"; touch "$3/bin/pip" ;;
    "-m pip") [ -e "$here/pip" ] ;;
    *) exit 1 ;;
esac
"""


@pytest.fixture
def checkout(tmp_path):
    """A copy of bootstrap.sh in a checkout whose .venv is installed and
    stamped, and whose anvil is present; returns (root, env)."""
    root = tmp_path / "checkout"
    (root / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "bootstrap.sh", root / "scripts" / "bootstrap.sh")
    (root / "pyproject.toml").write_text("")
    anvil = root / ".run/node/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"
    anvil.parent.mkdir(parents=True)
    _stub(anvil, "exit 0\n")
    python = tmp_path / "python3.11"
    _stub(python, FAKE_PYTHON)
    venv_bin = root / ".venv" / "bin"
    venv_bin.mkdir(parents=True)
    shutil.copy(python, venv_bin / "python")
    (venv_bin / "pip").touch()
    stamp = root / ".venv" / ".installed"
    stamp.touch()
    os.utime(root / "pyproject.toml", (1, 1))  # older than the stamp
    environ = {
        "PATH": os.environ["PATH"],
        "PYTHON": str(python),
        "FAKE_PYTHON_LOG": str(tmp_path / "python.log"),
    }
    return root, environ


def _bootstrap(root, environ) -> str:
    result = subprocess.run(
        ["bash", str(root / "scripts" / "bootstrap.sh")],
        env=environ,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_bootstrap_is_a_no_op_when_the_venv_is_fine(checkout):
    root, environ = checkout
    out = _bootstrap(root, environ)
    assert "creating" not in out
    assert ".venv up to date" in out


def test_bootstrap_rebuilds_a_venv_without_pip(checkout):
    # `python -m venv` failed or was interrupted: interpreter there, pip not.
    root, environ = checkout
    (root / ".venv" / "bin" / "pip").unlink()
    out = _bootstrap(root, environ)
    assert "creating .venv" in out
    assert (root / ".venv" / "bin" / "pip").exists()
    log = Path(environ["FAKE_PYTHON_LOG"]).read_text()
    assert "-m pip install" in log  # the stamp went with the old venv
    assert ".venv up to date" in _bootstrap(root, environ)
