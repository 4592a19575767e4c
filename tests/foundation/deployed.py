"""Run code under the deployed settings (``jopay_project.settings``), in a
process of its own: the test settings differ (logging, caches), and settings
are read once per process."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]

# What a production process needs to start (DEBUG off).
PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "x" * 50,
    "JOPAY_PUBLIC_BASE_URL": "https://pay.example",
    "ALLOWED_HOSTS": "pay.example",
}


def run_deployed(code: str, *, check: bool = True, **env: str):
    """``python -c code`` with only ``env`` (and PATH) in its environment."""
    return subprocess.run(
        [sys.executable, "-c", code],
        env={
            "DJANGO_SETTINGS_MODULE": "jopay_project.settings",
            "PATH": "/usr/bin:/bin",
            **env,
        },
        capture_output=True,
        text=True,
        cwd=str(ROOT),
        check=check,
    )


def deployed_setting(name: str, **env: str) -> Any:
    """The value of ``settings.<name>`` (JSON-able) under ``env``."""
    code = (
        "import json, django; django.setup(); from django.conf import settings; "
        f"print(json.dumps(settings.{name}))"
    )
    result = run_deployed(code, **env)
    return json.loads(result.stdout.strip().splitlines()[-1])
