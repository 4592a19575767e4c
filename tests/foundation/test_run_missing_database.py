"""``make run`` with a DATABASE_URL whose database does not exist (D30).

The README says to create the database first: ``make run`` migrates it but
does not create it. A developer who missed that got migrate's 40-line
traceback. The script now stops before migrating, names the database error in
one line and says how to create it; nothing is started.
"""

from __future__ import annotations

import os
import subprocess
import uuid

from tests.live import ROOT, free_port


def test_a_missing_database_is_one_line_and_the_fix(tmp_path):
    name = f"jopay_missing_{uuid.uuid4().hex[:12]}"
    url = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + f"/{name}"
    environ = {
        **os.environ,
        "DATABASE_URL": url,
        "PORT": str(free_port()),
        "JOPAY_ANVIL_BIN": str(tmp_path / "no-anvil"),  # no chain started either
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
    assert f'database "{name}" does not exist' in result.stderr, out
    assert "createdb" in result.stderr, out
    assert "Traceback" not in out
    assert "JoPay is running" not in out


def test_a_database_url_of_another_database_is_one_line_naming_it(tmp_path):
    """mysql:// ended in "Did you install mysqlclient?" and the advice to
    create the database; the refusal names the variable, and nothing else."""
    environ = {
        **os.environ,
        "DATABASE_URL": "mysql://jopay@127.0.0.1/jopay",
        "PORT": str(free_port()),
        "JOPAY_ANVIL_BIN": str(tmp_path / "no-anvil"),
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
    assert result.stderr.strip().splitlines() == [
        "run: ERROR: DATABASE_URL must be a postgresql://user@host[:port]/database "
        "URL, not a mysql:// one (leave it unset for the embedded SQLite)"
    ], out
    assert "JoPay is running" not in out
