"""D31's operator commands while PostgreSQL is down (OPERATIONS.md): one line
naming the database and a non-zero exit, never psycopg's traceback."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.live import ROOT, free_port

USDC = "0x" + "ab" * 20
COMMANDS = {
    "create_partner": ["--slug", "acme-pay", "--name", "Acme"],
    "create_api_key": ["--partner", "acme-pay", "--mode", "test"],
    "revoke_api_key": ["--key-id", "00000000-0000-0000-0000-000000000000"],
    "create_partner_user": ["--partner", "acme-pay", "--email", "ops@example.com"],
    "configure_chain": [
        "--chain-id",
        "31337",
        "--name",
        "Local",
        "--rpc-url",
        f"http://127.0.0.1:{free_port()}",
        "--usdc",
        USDC,
        "--local",
    ],
    "set_fx_rate": ["--currency", "EUR", "--rate", "0.92"],
    "charge_recurring_plans": [],
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_command_with_the_database_down_fails_on_one_line(command):
    nothing_listens = f"postgresql://postgres@127.0.0.1:{free_port()}/jopay"
    result = subprocess.run(
        [sys.executable, "manage.py", command, *COMMANDS[command]],
        cwd=ROOT,
        env={
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "jopay_project.test_settings",
            "DATABASE_URL": nothing_listens,
        },
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("CommandError: the database did not answer")
    assert "Connection refused" in lines[0]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DATABASE_URL", "mysql://jopay:s3cret@db.example/jopay"),
        ("DATABASE_URL", "postgress://jopay:s3cret@db.example/jopay"),
        ("REDIS_URL", "redis://127.0.0.1:99999/0"),
        ("LOG_LEVEL", "verbose"),
    ],
)
def test_a_bad_setting_stops_a_command_on_one_line_naming_it(name, value):
    """D31: a bad value stops the process. manage.py (and `make run`, which
    migrates through it) printed a 40-line traceback for it; for mysql:// it
    ended in "Did you install mysqlclient?" and never named the variable."""
    environ = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env={**environ, "DEBUG": "1", name: value},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"ImproperlyConfigured: {name} "), lines[0]
    assert "s3cret" not in lines[0]
