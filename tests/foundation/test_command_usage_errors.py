"""A bad command-line value is a usage error (exit 2) or the command's one-line
``CommandError`` (exit 1, D31), never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from payments.models import FxRate
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


# D31: scripts expect "CommandError: ..." on one line. These raised from deep
# inside (decimal.Overflow, the database's DataError) with a traceback instead.


@pytest.mark.django_db
@pytest.mark.parametrize("rate", ["1e999999999", "1e-999999999"])
def test_an_absurd_fx_rate_is_a_command_error(rate):
    with pytest.raises(CommandError, match="plausible"):
        call_command("set_fx_rate", "--currency", "EUR", "--rate", rate)
    assert not FxRate.objects.exists()


@pytest.mark.parametrize(
    "email",
    ["a" * 200 + "@example.com", "a" * 139 + "@example.com"],  # 212 and 151 chars
    ids=["212", "151"],
)
def test_an_e_mail_longer_than_the_username_column_is_a_command_error(partner, email):
    with pytest.raises(CommandError, match="at most 150"):
        call_command("create_partner_user", "--partner", partner.slug, "--email", email)
    assert not get_user_model().objects.filter(email__startswith="aaaa").exists()


def test_an_e_mail_of_exactly_150_characters_is_taken(partner):
    email = "a" * 138 + "@example.com"
    call_command(
        "create_partner_user",
        "--partner",
        partner.slug,
        "--email",
        email,
        "--json",
        stdout=StringIO(),
    )
    assert get_user_model().objects.get(username=email).email == email
