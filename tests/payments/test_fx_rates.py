"""FX rate selection (D14, D31): partner override first, pinned never stale, 24 h rule;
set_fx_rate; GET /api/v1/fx/rates (D35)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from jopay_project.errors import ErrorCode, JoPayError
from payments.models import FxRate
from payments.services.fx import fx_rate_clear_manual, fx_rate_for, fx_rate_set_manual

DAY = timedelta(hours=24)


def fx_code(partner, currency):
    with pytest.raises(JoPayError) as info:
        fx_rate_for(partner, currency)
    return info.value.code


# --- fx_rate_for ------------------------------------------------------------------


def test_missing_rate_is_fx_unavailable(partner):
    assert fx_code(partner, "EUR") == ErrorCode.FX_UNAVAILABLE


def test_rate_younger_than_24h_is_used_older_is_not(partner):
    row = FxRate.objects.create(
        currency="EUR",
        rate=Decimal("0.92"),
        source="feed",
        fetched_at=timezone.now() - DAY + timedelta(minutes=1),
    )
    assert fx_rate_for(partner, "EUR") == row
    FxRate.objects.filter(pk=row.pk).update(
        fetched_at=timezone.now() - DAY - timedelta(seconds=1)
    )
    assert fx_code(partner, "EUR") == ErrorCode.FX_UNAVAILABLE


def test_pinned_rate_never_goes_stale(partner):
    FxRate.objects.create(
        currency="EUR",
        rate=Decimal("0.92"),
        source="manual",
        pinned=True,
        fetched_at=timezone.now() - 30 * DAY,
    )
    assert fx_rate_for(partner, "EUR").rate == Decimal("0.92")


def test_partner_override_wins_and_is_partner_private(partner, other_partner):
    FxRate.objects.create(currency="EUR", rate=Decimal("0.92"), source="feed")
    fx_rate_set_manual(currency="EUR", rate=Decimal("0.5"), partner=partner)
    assert fx_rate_for(partner, "EUR").rate == Decimal("0.5")
    assert fx_rate_for(other_partner, "EUR").rate == Decimal("0.92")
    assert fx_rate_for(None, "EUR").rate == Decimal("0.92")


def test_set_manual_pins_and_clear_unpins(partner):
    row = fx_rate_set_manual(currency="EUR", rate=Decimal("0.93"))
    assert (row.source, row.pinned, row.partner_id) == ("manual", True, None)
    row = fx_rate_set_manual(currency="EUR", rate=Decimal("0.94"))  # update, not a 2nd
    assert FxRate.objects.filter(currency="EUR").count() == 1
    assert fx_rate_clear_manual(currency="EUR") is True
    row.refresh_from_db()
    # Kept as the last good rate, now subject to staleness and feeds.
    assert (row.rate, row.pinned) == (Decimal("0.94"), False)
    assert fx_rate_clear_manual(currency="EUR") is False


def test_clearing_an_old_global_pin_leaves_a_usable_rate(partner):
    """D14: the pin was in force until cleared, so clearing opens no gap, however
    old the pin (its fetched_at made the unpinned rate stale at once)."""
    fx_rate_set_manual(currency="EUR", rate=Decimal("0.9"))
    FxRate.objects.filter(currency="EUR").update(fetched_at=timezone.now() - 3 * DAY)
    assert fx_rate_for(partner, "EUR").rate == Decimal("0.9")  # pinned: usable
    before = timezone.now()

    assert fx_rate_clear_manual(currency="EUR") is True

    row = fx_rate_for(partner, "EUR")
    assert (row.rate, row.pinned) == (Decimal("0.9"), False)
    assert row.fetched_at >= before  # stale 24 h from now, unless a feed answers


def test_clearing_a_partner_override_falls_back_to_global(partner):
    FxRate.objects.create(currency="EUR", rate=Decimal("0.92"), source="feed")
    fx_rate_set_manual(currency="EUR", rate=Decimal("0.5"), partner=partner)
    assert fx_rate_clear_manual(currency="EUR", partner=partner) is True
    assert fx_rate_for(partner, "EUR").rate == Decimal("0.92")


@pytest.mark.parametrize(
    ("currency", "rate"),
    [
        ("XYZ", Decimal("1")),
        ("eur", Decimal("1")),
        ("EUR", Decimal("0")),
        ("EUR", Decimal("-1")),
        ("EUR", Decimal("NaN")),
        ("EUR", Decimal("1e-19")),
        ("EUR", Decimal("Infinity")),
    ],
)
def test_set_manual_refuses_bad_input(db, currency, rate):
    with pytest.raises(ValueError, match=r"currencies|FX rate"):
        fx_rate_set_manual(currency=currency, rate=rate)
    assert not FxRate.objects.exists()


# --- set_fx_rate ---------------------------------------------------------------------


def run(*args) -> str:
    out = StringIO()
    call_command("set_fx_rate", *args, stdout=out)
    return out.getvalue()


def test_command_sets_a_global_pinned_rate(db):
    assert "EUR" in run("--currency", "EUR", "--rate", "0.92")
    row = FxRate.objects.get(currency="EUR", partner__isnull=True)
    assert (row.rate, row.source, row.pinned) == (Decimal("0.92"), "manual", True)


def test_command_takes_a_lower_case_code_as_the_code(db):
    assert "EUR (global)" in run("--currency", " eur", "--rate", "0.92")
    assert FxRate.objects.get(partner__isnull=True).currency == "EUR"


def test_command_sets_and_clears_a_partner_override(partner):
    run("--currency", "JPY", "--rate", "149.5", "--partner", partner.slug)
    assert FxRate.objects.get(currency="JPY", partner=partner).rate == Decimal("149.5")
    run("--currency", "JPY", "--partner", partner.slug, "--clear")
    assert not FxRate.objects.filter(currency="JPY", partner=partner).exists()


def test_command_clear_unpins_the_global_rate(db):
    run("--currency", "EUR", "--rate", "0.92")
    run("--currency", "EUR", "--clear")
    assert FxRate.objects.get(currency="EUR").pinned is False


def test_command_clear_of_an_old_pin_keeps_requests_working(partner):
    run("--currency", "EUR", "--rate", "0.92")
    FxRate.objects.update(fetched_at=timezone.now() - 30 * DAY)
    run("--currency", "EUR", "--clear")
    assert fx_rate_for(partner, "EUR").rate == Decimal("0.92")


@pytest.mark.parametrize(
    "args",
    [
        ["--currency", "XYZ", "--rate", "1"],
        ["--currency", "EUR", "--rate", "0"],
        ["--currency", "EUR", "--rate", "-0.5"],
        ["--currency", "EUR", "--rate", "abc"],
        ["--currency", "EUR", "--rate", "0.1234567890123456789"],  # 19 places
        # Outside the plausible range (it ended in a DataError traceback).
        ["--currency", "EUR", "--rate", "1e25"],
        ["--currency", "EUR", "--rate", "0.0001"],
        # Far outside: exact scaling raised decimal.Overflow (D31: a traceback).
        ["--currency", "EUR", "--rate", "1e999999999"],
        ["--currency", "EUR", "--rate", "1e-999999999"],
        # Text Decimal() reads as another, plausible rate: "0_92" is 92.
        ["--currency", "EUR", "--rate", "0_92"],
        ["--currency", "EUR", "--rate", "+0.92"],
        ["--currency", "EUR", "--rate", "\u0660.\u0669\u0662"],  # Arabic-Indic
        ["--currency", "EUR"],
        ["--currency", "EUR", "--rate", "1", "--partner", "no-such-partner"],
        ["--currency", "EUR", "--rate", "1", "--clear"],
    ],
)
def test_command_refuses_bad_input(db, args):
    with pytest.raises(CommandError):
        run(*args)
    assert not FxRate.objects.exists()


def test_command_exits_1_on_bad_input(db, capsys):
    from django.core.management import ManagementUtility

    utility = ManagementUtility(
        ["manage.py", "set_fx_rate", "--currency", "EUR", "--rate", "-1"]
    )
    with pytest.raises(SystemExit) as info:
        utility.execute()
    assert info.value.code == 1
    assert "positive" in capsys.readouterr().err


# --- GET /api/v1/fx/rates ---------------------------------------------------------


def test_fx_rates_lists_every_enabled_currency(api, partner):
    now = timezone.now()
    FxRate.objects.create(
        currency="EUR", rate=Decimal("0.920000"), source="ecb:x", fetched_at=now
    )
    FxRate.objects.create(
        currency="JPY",
        rate=Decimal("150"),
        source="ecb:x",
        fetched_at=now - DAY - timedelta(minutes=1),
    )
    FxRate.objects.create(
        currency="GBP",
        rate=Decimal("0.9"),
        source="manual",
        pinned=True,
        fetched_at=now - 10 * DAY,
    )
    fx_rate_set_manual(currency="GBP", rate=Decimal("0.75"), partner=partner)

    response = api.get("/api/v1/fx/rates")

    assert response.status_code == 200
    body = response.json()
    # D2: the list envelope, one page holding every enabled currency.
    assert set(body) == {"ok", "data", "has_more", "next_cursor"}
    assert (body["ok"], body["has_more"], body["next_cursor"]) == (True, False, None)
    by_code = {item["currency"]: item for item in body["data"]}
    assert [i["currency"] for i in body["data"]] == partner.enabled_currencies
    assert by_code["EUR"]["rate"] == "0.92"
    assert by_code["EUR"]["stale"] is False
    assert by_code["EUR"]["source"] == "ecb:x"
    assert by_code["EUR"]["fetched_at"].endswith("Z")
    assert by_code["JPY"]["stale"] is True
    assert by_code["GBP"]["rate"] == "0.75"  # the partner's own override
    assert by_code["GBP"]["stale"] is False
    assert by_code["USD"] == {
        "currency": "USD",
        "rate": None,
        "source": None,
        "fetched_at": None,
        "stale": True,
    }


def test_fx_rates_schema_documents_the_list_envelope(api):
    schema = api.get("/api/v1/schema", HTTP_ACCEPT="application/json").json()
    ok = schema["paths"]["/api/v1/fx/rates"]["get"]["responses"]["200"]
    ref = ok["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    page = schema["components"]["schemas"][ref]
    assert set(page["properties"]) == {"ok", "data", "has_more", "next_cursor"}
    assert page["properties"]["has_more"]["type"] == "boolean"
    assert page["properties"]["next_cursor"]["nullable"] is True


def test_fx_rates_needs_fx_read(client_for, partner):
    response = client_for(partner, scopes=["requests:read"]).get("/api/v1/fx/rates")
    assert response.status_code == 403
    assert response.json()["required_scope"] == "fx:read"
    assert (
        client_for(partner, scopes=["fx:read"]).get("/api/v1/fx/rates").status_code
        == 200
    )


def test_fx_rates_is_limited_to_20_a_minute(api):
    codes = [api.get("/api/v1/fx/rates").status_code for _ in range(21)]
    assert codes[:20] == [200] * 20
    assert codes[20] == 429


def test_a_rate_scales_to_an_exact_integer_whatever_its_digits():
    """D14: one exact integer division. ``scaleb`` under the default 28-digit
    context rounded a 29-digit rate silently."""
    from payments.money import rate_to_scaled_int

    rate = Decimal("12345678901.123456789012345678")
    assert rate_to_scaled_int(rate) == 12345678901_123456789012345678
