"""D31/D35: operator commands, their exact output shapes and refusals."""

import json
import re
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from jopay_project.formats import iso
from merchants.keys import api_key_authenticate
from merchants.models import ApiKey, Partner, PartnerUser


def run(*args) -> dict:
    out = StringIO()
    call_command(*args, "--json", stdout=out)
    return json.loads(out.getvalue())


@pytest.mark.django_db
def test_create_partner_prints_keys_that_work():
    out = run(
        "create_partner",
        "--slug",
        "acme-payments",
        "--name",
        "Acme",
        "--currency",
        "usd",
        "--currencies",
        "EUR,USD",
        "--min-amount",
        "150",
        "--max-amount",
        "500000",
    )
    assert set(out) == {"partner_id", "slug", "live_key", "test_key", "webhook_secret"}
    assert out["webhook_secret"] is None
    partner = Partner.objects.get(pk=out["partner_id"])
    assert (partner.default_currency, partner.enabled_currencies) == (
        "USD",
        ["EUR", "USD"],
    )
    assert (partner.min_fiat_per_request, partner.max_fiat_per_request) == (150, 500000)
    assert api_key_authenticate(out["live_key"]).test_mode is False
    assert api_key_authenticate(out["test_key"]).test_mode is True


@pytest.mark.django_db
@pytest.mark.parametrize(
    "args",
    [
        ["--slug", "Bad_Slug", "--name", "x"],
        ["--slug", "ok-slug\n", "--name", "x"],  # "$" matched before the "\n"
        ["--slug", "ok-slug", "--name", "x", "--currency", "ZZZ"],
        [
            "--slug",
            "ok-slug",
            "--name",
            "x",
            "--min-amount",
            "500",
            "--max-amount",
            "100",
        ],
    ],
)
def test_create_partner_refuses_bad_input(args):
    with pytest.raises(CommandError):
        call_command("create_partner", *args)
    assert not Partner.objects.exists()


@pytest.mark.django_db
def test_create_partner_trims_the_default_currency_like_the_enabled_ones():
    """--currencies " eur, usd" was trimmed, --currency " usd" was refused
    ("Value ' USD' is not a valid choice"): a value pasted from a list or a
    script's "$CURRENCY " failed the whole command (D31)."""
    out = run(
        "create_partner",
        "--slug",
        "acme",
        "--name",
        "Acme",
        "--currency",
        " usd ",
        "--currencies",
        " eur, usd",
    )
    partner = Partner.objects.get(pk=out["partner_id"])
    assert (partner.default_currency, partner.enabled_currencies) == (
        "USD",
        ["EUR", "USD"],
    )


@pytest.mark.django_db
@pytest.mark.parametrize("currency", ["", "  "])
def test_create_partner_refuses_an_empty_currency_by_its_flag(currency):
    with pytest.raises(CommandError, match="--currency must not be empty"):
        call_command(
            "create_partner", "--slug", "acme", "--name", "A", "--currency", currency
        )
    assert not Partner.objects.exists()


def test_create_partner_slug_is_unique(partner):
    with pytest.raises(CommandError):
        call_command("create_partner", "--slug", partner.slug, "--name", "again")


def test_create_api_key_scoped_with_expiry(partner):
    out = run(
        "create_api_key",
        "--partner",
        partner.slug,
        "--mode",
        "test",
        "--scope",
        "requests:read",
        "--scope",
        "fx:read",
        "--expires-at",
        "2999-01-01T00:00:00Z",
    )
    assert out["mode"] == "test"
    assert out["scopes"] == ["fx:read", "requests:read"]
    assert out["expires_at"] == "2999-01-01T00:00:00.000Z"
    assert api_key_authenticate(out["key"]).pk.hex == out["key_id"].replace("-", "")


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("2999-01-01T05:00:00+05:00", "2999-01-01T00:00:00.000Z"),
        ("2999-01-01T00:00:00", "2999-01-01T00:00:00.000Z"),  # no offset: UTC (D1)
        ("2998-12-31T23:59:60Z", "2999-01-01T00:00:00.000Z"),  # a leap second
    ],
)
def test_create_api_key_expiry_is_stored_and_printed_in_utc(partner, given, stored):
    out = run(
        "create_api_key", "--partner", partner.slug, "--mode", "test",
        "--expires-at", given,
    )  # fmt: skip
    assert out["expires_at"] == stored
    assert iso(ApiKey.objects.get(pk=out["key_id"]).expires_at) == stored


@pytest.mark.parametrize(
    "given", ["9999-12-31T23:59:59-05:00", "9999-12-31T23:59:59-23:59", "someday"]
)
def test_create_api_key_refuses_an_expiry_past_9999_in_utc(partner, given):
    """It was stored as year 10 000 (UTC), then printing it raised OverflowError:
    a traceback, and a key created that nobody saw and Python could not read."""
    with pytest.raises(CommandError, match="--expires-at"):
        run(
            "create_api_key", "--partner", partner.slug, "--mode", "test",
            "--expires-at", given,
        )  # fmt: skip
    assert not ApiKey.objects.filter(partner=partner).exists()


def test_create_api_key_takes_several_scopes_after_one_flag(partner):
    # D31 writes `[--scope SCOPE ...]`; the repeated flag (README) works too.
    out = run(
        "create_api_key",
        "--partner",
        partner.slug,
        "--mode",
        "live",
        "--scope",
        "requests:read",
        "requests:write",
        "--scope",
        "fx:read",
    )
    assert out["scopes"] == ["fx:read", "requests:read", "requests:write"]


def test_create_api_key_unrestricted_prints_null_scopes(partner):
    assert (
        run("create_api_key", "--partner", partner.slug, "--mode", "live")["scopes"]
        is None
    )


def test_create_api_key_refuses_past_expiry_with_exit_1(partner):
    with pytest.raises(CommandError):
        call_command(
            "create_api_key",
            "--partner",
            partner.slug,
            "--mode",
            "live",
            "--expires-at",
            "2001-01-01T00:00:00Z",
        )
    assert not ApiKey.objects.filter(partner=partner).exists()


def test_revoke_api_key(partner):
    out = run("create_api_key", "--partner", partner.slug, "--mode", "live")
    said = StringIO()
    call_command("revoke_api_key", "--key-id", out["key_id"], stdout=said)
    revoked_at = ApiKey.objects.get(pk=out["key_id"]).revoked_at
    assert revoked_at is not None
    # D1: the time it prints is in the one timestamp form, ms and ``Z``.
    assert said.getvalue().strip().endswith(f"at {iso(revoked_at)}")
    assert re.search(r"\d{2}:\d{2}:\d{2}\.\d{3}Z$", said.getvalue().strip())
    with pytest.raises(CommandError):
        call_command("revoke_api_key", "--key-id", "not-a-uuid")


def test_create_partner_user_generates_a_password(partner):
    out = run(
        "create_partner_user", "--partner", partner.slug, "--email", "Ops@Alice.example"
    )
    assert set(out) == {"user_id", "email", "partner", "password"}
    user = PartnerUser.objects.get(user_id=out["user_id"]).user
    assert user.check_password(out["password"])
    assert out["partner"] == partner.slug
    with pytest.raises(CommandError):  # same e-mail again
        call_command(
            "create_partner_user",
            "--partner",
            partner.slug,
            "--email",
            "ops@alice.example",
        )


@pytest.mark.parametrize("password", ["", "   "])
def test_create_partner_user_refuses_an_empty_password(partner, password):
    """A script's unset "$PASSWORD" read as no --password: the account got a
    random password instead of the one the script meant (printed, in --json
    too, where a script that chose one does not look), and nothing said so."""
    with pytest.raises(CommandError, match="--password"):
        run(
            "create_partner_user",
            "--partner",
            partner.slug,
            "--email",
            "ops@alice.example",
            "--password",
            password,
        )
    assert not PartnerUser.objects.exists()


def test_the_models_and_the_migrations_agree(db):
    # A model change without its migration would deploy a schema the code
    # does not expect.
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)
