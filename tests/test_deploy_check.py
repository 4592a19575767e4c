"""``manage.py check --deploy`` with production settings reports nothing.

Run in a subprocess with the environment a production deploy sets (DEBUG off,
a strong secret, https public URL, explicit hosts, PostgreSQL + Redis), and
``--fail-level WARNING``, so any security warning (or a W002 from the OpenAPI
generator about an undescribed view) fails the test.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys

from django.conf import settings

from tests.live import ROOT

PRODUCTION_ENV = {
    "DJANGO_SETTINGS_MODULE": "jopay_project.settings",
    "DEBUG": "0",
    "JOPAY_PUBLIC_BASE_URL": "https://pay.example.com",
    "ALLOWED_HOSTS": "pay.example.com",
}


def _check_deploy(**overrides: str) -> subprocess.CompletedProcess:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("JOPAY_", "DJANGO_", "SECURE_"))
        and key not in ("DEBUG", "SECRET_KEY", "ALLOWED_HOSTS")
    }
    env.update(
        PRODUCTION_ENV,
        SECRET_KEY=secrets.token_urlsafe(50),
        DATABASE_URL=os.environ.get("DATABASE_URL", ""),
        REDIS_URL=settings.REDIS_URL,
        **overrides,
    )
    return subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_deploy_with_production_settings_reports_no_issues():
    result = _check_deploy()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNING" not in result.stderr


def test_check_deploy_fails_on_an_insecure_setting():
    """The test above can fail: turning HSTS off is reported (security.W004)."""
    result = _check_deploy(SECURE_HSTS_SECONDS="0")
    assert result.returncode != 0
    assert "security.W004" in result.stderr
