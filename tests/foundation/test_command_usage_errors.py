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

from merchants.models import Partner
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
@pytest.mark.parametrize(
    ("rate", "says"),
    [
        ("1000000000", "plausible"),
        ("0.0001", "plausible"),
        ("1e999999999", "decimal like 0.92"),
        ("0_92", "decimal like 0.92"),  # Decimal() reads 92
    ],
)
def test_an_absurd_fx_rate_is_a_command_error(rate, says):
    with pytest.raises(CommandError, match=says):
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


# Found in the operator drills (D31): each of these was a traceback (the
# database's DataError) or was taken and made the command misbehave.


def test_a_key_name_longer_than_its_column_is_a_command_error(partner):
    with pytest.raises(CommandError, match="at most 80"):
        call_command(
            "create_api_key", "--partner", partner.slug, "--mode", "test",
            "--name", "n" * 81, stdout=StringIO(),
        )  # fmt: skip
    assert not partner.api_keys.filter(name__startswith="nnnn").exists()


@pytest.mark.django_db
def test_a_batch_size_beyond_the_database_is_a_command_error():
    with pytest.raises(CommandError, match="--batch-size"):
        call_command("charge_recurring_plans", "--batch-size", str(10**20))


@pytest.mark.django_db
@pytest.mark.parametrize("budget", ["nan", "inf", "1e400"])
def test_a_budget_that_is_not_a_finite_number_is_a_command_error(budget):
    # nan compares false with every elapsed time and inf is never reached: a
    # run with either had no budget at all.
    with pytest.raises(CommandError, match="--budget-seconds"):
        call_command("charge_recurring_plans", "--budget-seconds", budget)


@pytest.mark.django_db
def test_a_partner_name_of_only_spaces_is_refused():
    with pytest.raises(CommandError, match="name"):
        call_command(
            "create_partner", "--slug", "blank-name", "--name", "   ",
            stdout=StringIO(),
        )  # fmt: skip
    from merchants.models import Partner

    assert not Partner.objects.filter(slug="blank-name").exists()


@pytest.mark.parametrize(
    "email",
    ["a b@example.com", "x@@example.com", "ops@localhost", "ops@corp", "@example.com"],
)
def test_an_e_mail_no_mail_can_reach_is_a_command_error(partner, email):
    # D31: one line, and no login made with an address no mail can reach.
    with pytest.raises(CommandError, match="is not an e-mail address"):
        call_command("create_partner_user", "--partner", partner.slug, "--email", email)
    assert not get_user_model().objects.exists()


@pytest.mark.parametrize("email", ["a@@b.example", "a b@c d", "ops@", "é@ü.de"])
def test_an_e_mail_the_portal_cannot_sign_in_with_is_a_command_error(partner, email):
    # D31: the command said "<e-mail> can log in at /portal/login/" for a value
    # the login page's e-mail field (type=email) never lets a browser submit.
    with pytest.raises(CommandError, match="--email"):
        call_command(
            "create_partner_user", "--partner", partner.slug, "--email", email,
            stdout=StringIO(),
        )  # fmt: skip
    assert not get_user_model().objects.filter(username=email.lower()).exists()


@pytest.mark.django_db
@pytest.mark.parametrize("args", [["--rate", "0.5"], ["--clear"]], ids=["set", "clear"])
def test_an_empty_partner_slug_is_not_the_global_rate(args):
    # D31: --partner names one partner's override. An empty slug (a script's
    # unset "$SLUG") was read as no --partner at all: the GLOBAL rate, every
    # partner's, was pinned at 0.5 (or its pin cleared) without a word.
    FxRate.objects.create(currency="EUR", rate="0.92", source="manual", pinned=True)
    with pytest.raises(CommandError, match="no partner with slug ''"):
        call_command(
            "set_fx_rate", "--currency", "EUR", "--partner", "", *args,
            stdout=StringIO(),
        )  # fmt: skip
    eur = FxRate.objects.get(currency="EUR", partner__isnull=True)
    assert (str(eur.rate.normalize()), eur.pinned) == ("0.92", True)


def test_an_empty_expiry_is_not_a_key_that_never_expires(partner):
    # D8/D31: --expires-at "" (a script's unset "$EXPIRES") made a key with no
    # expiry at all, printed as if all went well.
    with pytest.raises(CommandError, match="--expires-at"):
        call_command(
            "create_api_key", "--partner", partner.slug, "--mode", "live",
            "--expires-at", "", stdout=StringIO(),
        )  # fmt: skip
    assert not partner.api_keys.filter(expires_at__isnull=True, name="").exists()


# D31: an argument the database cannot store. A shell passes bytes from a file in
# another encoding (Latin-1) as they are; Python reads them as lone surrogates,
# and psycopg refused them inside the first query: a UnicodeEncodeError traceback.


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (
            [b"create_partner", b"--slug", b"latin", b"--name", b"Caf\xe9 Ltd"],
            "CommandError: --name is not valid UTF-8 text",
        ),
        (
            [b"create_partner_user", b"--partner", b"caf\xe9", b"--email", b"a@b.co"],
            "CommandError: --partner is not valid UTF-8 text",
        ),
        (
            [
                b"configure_chain", b"--chain-id", b"996", b"--name", b"x",
                b"--rpc-url", b"http://127.0.0.1:1/\xe9", b"--usdc", b"0x" + b"a" * 40,
            ],
            "CommandError: --rpc-url is not valid UTF-8 text",
        ),
    ],
    ids=["create_partner", "create_partner_user", "configure_chain"],
)  # fmt: skip
def test_non_utf8_argument_bytes_are_a_command_error(argv, says):
    result = subprocess.run(
        [sys.executable.encode(), b"manage.py", *argv],
        cwd=ROOT,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "jopay_project.test_settings"},
        capture_output=True,
        timeout=120,
        check=False,
    )
    stderr = result.stderr.decode(errors="replace")
    assert result.returncode == 1, stderr
    assert "Traceback" not in stderr
    assert says in stderr


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("text", "says"),
    [("Caf\udce9", "is not valid UTF-8 text"), ("Caf\x00e", "must not contain a NUL")],
)
def test_unstorable_text_is_refused_before_anything_is_written(partner, text, says):
    from merchants.models import ApiKey, Partner

    keys = ApiKey.objects.count()
    with pytest.raises(CommandError, match=f"--name {says}"):
        call_command(
            "create_partner", "--slug", "latin", "--name", text, stdout=StringIO()
        )
    with pytest.raises(CommandError, match=f"--name {says}"):
        call_command(
            "create_api_key", "--partner", partner.slug, "--mode", "test",
            "--name", text, stdout=StringIO(),
        )  # fmt: skip
    assert not Partner.objects.filter(slug="latin").exists()
    assert ApiKey.objects.count() == keys


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("option", "value"),
    [
        # D31: --webhook-url "$UNSET" made a partner with webhooks off, silently.
        ("--webhook-url", ""),
        ("--webhook-url", "  "),
        # --currencies "$UNSET" made a partner taking the default currency
        # alone (every create in another one answered currency_not_enabled).
        ("--currencies", ""),
        ("--currencies", " "),
        ("--currencies", ", ,"),
    ],
)
def test_an_empty_option_is_refused_not_read_as_left_out(option, value):
    with pytest.raises(CommandError, match=f"{option} must not be empty"):
        call_command(
            "create_partner", "--slug", "acme", "--name", "Acme",
            option, value, stdout=StringIO(),
        )  # fmt: skip
    assert not Partner.objects.filter(slug="acme").exists()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("command", "args", "consequence"),
    [
        ("create_api_key", ["--mode", "live"], "the key answers auth_failed"),
        (
            "create_partner_user",
            ["--email", "ops@acme.example"],
            "the user cannot sign in",
        ),
    ],
)
def test_a_switched_off_partner_is_named_in_a_warning(
    partner, command, args, consequence
):
    """D31: made all the same, but an operator was not told the key or user
    could not be used until the partner is switched on again."""
    Partner.objects.filter(pk=partner.pk).update(is_active=False)
    err = StringIO()
    call_command(
        command, "--partner", partner.slug, *args, stdout=StringIO(), stderr=err
    )
    assert err.getvalue().strip() == (
        f"warning: partner {partner.slug!r} is switched off; until it is switched"
        f" on again {consequence}"
    )
