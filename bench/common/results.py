"""What a run was measured on, and where its figures go."""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common.env import RESULTS_DIR, redis_url

# --- machine and results -------------------------------------------------------------


def _first(pattern: str, text: str) -> str:
    match = re.search(pattern, text, re.MULTILINE)
    return match.group(1).strip() if match else "unknown"


def machine_info() -> dict[str, Any]:
    """What the figures were measured on (call after ``setup_django()``)."""
    from django.db import connection

    cpuinfo = Path("/proc/cpuinfo").read_text()
    meminfo = Path("/proc/meminfo").read_text()
    with connection.cursor() as cursor:
        cursor.execute("show server_version")
        pg_version = cursor.fetchone()[0]
        cursor.execute("show fsync")
        pg_fsync = cursor.fetchone()[0]
        cursor.execute("show synchronous_commit")
        pg_sync = cursor.fetchone()[0]
    import django
    import gunicorn as gunicorn_pkg
    import redis

    redis_info = redis.Redis.from_url(redis_url()).info("server")
    wrk = shutil.which("wrk")
    wrk_version = (
        subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False)
        .stdout.split("[")[0]
        .strip()
        if wrk
        else None
    )
    return {
        "nproc": os.cpu_count(),
        "cpu_model": _first(r"^model name\s*:\s*(.+)$", cpuinfo),
        "ram_gib": round(int(_first(r"^MemTotal:\s*(\d+)", meminfo)) / 1024**2, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "django": django.get_version(),
        "gunicorn": gunicorn_pkg.__version__,
        "postgresql": pg_version,
        "postgresql_fsync": pg_fsync,
        "postgresql_synchronous_commit": pg_sync,
        "redis": redis_info.get("redis_version"),
        "wrk": wrk_version,
        "note": (
            "load generator and servers share the same cores; "
            "PostgreSQL and Redis run on the same machine"
        ),
    }


def write_results(name: str, data: dict[str, Any]) -> Path:
    """Write ``bench/results/<name>.json`` (stamped with the time) and return it."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    stamped = {"benchmark": name, "measured_at": _now_iso(), **data}
    path.write_text(json.dumps(stamped, indent=2, sort_keys=False) + "\n")
    return path


def _now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def print_table(headers: list[str], rows: list[list[Any]]) -> None:
    cells = [[str(c) for c in row] for row in [headers, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    for n, row in enumerate(cells):
        print(
            "  ".join(
                c.rjust(w) if i else c.ljust(w)
                for i, (c, w) in enumerate(zip(row, widths, strict=True))
            )
        )
        if n == 0:
            print("  ".join("-" * w for w in widths))
