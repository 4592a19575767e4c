"""A bad command-line value is a usage error (exit 2), never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command

from tests.live import ROOT


def test_a_bad_now_is_a_usage_error_from_the_command_line():
    result = subprocess.run(
        [sys.executable, "manage.py", "charge_recurring_plans", "--now", "garbage"],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "jopay_project.test_settings"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert "usage: manage.py charge_recurring_plans" in result.stderr
    assert "argument --now: must be an ISO 8601 time, not 'garbage'" in result.stderr


def test_a_bad_now_is_a_command_error_from_call_command():
    with pytest.raises(CommandError, match="ISO 8601"):
        call_command("charge_recurring_plans", "--now", "garbage")
