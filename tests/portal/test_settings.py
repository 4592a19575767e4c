"""``/portal/settings/``: major-unit amounts (Decimal, exponent-aware), currencies,
expiry bounds (D11–D13, D35)."""

from __future__ import annotations

import pytest
from django import forms

from merchants.portal.forms import format_major, parse_major
from merchants.portal.services import INVOICE_EXPIRY_BOUNDS, POS_EXPIRY_BOUNDS
from payments.api.serializers import EXPIRY_BOUNDS

pytestmark = pytest.mark.django_db


def form_data(**overrides) -> dict:
    data = {
        "enabled_currencies": ["EUR", "USD", "JPY"],
        "default_currency": "EUR",
        "min_amount": "1.00",
        "max_amount": "",
        "pos_expiry_seconds": "3600",
        "invoice_expiry_seconds": "604800",
    }
    data.update(overrides)
    return data


def error_codes(response) -> dict[str, list[str]]:
    form = response.context["form"]
    return {f: [e.code for e in errs] for f, errs in form.errors.as_data().items()}


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [
        ("12.50", "EUR", 1250),
        ("12.5", "EUR", 1250),
        ("12", "EUR", 1200),
        ("0.01", "EUR", 1),
        ("1250", "JPY", 1250),
        ("1", "KRW", 1),
        ("990", "CLP", 990),
        (" 7.05 ", "USD", 705),
        ("21474836.47", "EUR", 2_147_483_647),
    ],
)
def test_parse_major(text, currency, minor):
    assert parse_major(text, currency) == minor


@pytest.mark.parametrize(
    ("text", "currency"),
    [
        ("12.5", "JPY"),  # no minor unit
        ("12.0", "KRW"),
        ("1.001", "EUR"),  # more decimals than the exponent
        ("12.500", "EUR"),
        ("0", "EUR"),
        ("0.00", "USD"),
        ("-5", "EUR"),
        ("1e3", "EUR"),
        ("1,000.00", "EUR"),
        ("12.", "EUR"),
        ("", "EUR"),
        ("NaN", "EUR"),
        ("21474836.48", "EUR"),  # above 2 147 483 647 minor units (D13)
    ],
)
def test_parse_major_refuses(text, currency):
    with pytest.raises(forms.ValidationError) as info:
        parse_major(text, currency)
    assert info.value.code == "invalid_amount"


def test_format_major_round_trips():
    assert format_major(1250, "EUR") == "12.50"
    assert format_major(5, "EUR") == "0.05"
    assert format_major(1250, "JPY") == "1250"
    assert format_major(None, "EUR") == ""
    for minor, currency in [(1, "EUR"), (999_999, "USD"), (7, "CLP")]:
        assert parse_major(format_major(minor, currency), currency) == minor


def test_expiry_bounds_match_the_api():
    """D11: the portal's bounds are the API's bounds."""
    assert EXPIRY_BOUNDS["pos"] == POS_EXPIRY_BOUNDS
    assert EXPIRY_BOUNDS["invoice"] == INVOICE_EXPIRY_BOUNDS


def test_page_shows_amounts_in_major_units(portal, partner):
    partner.min_fiat_per_request = 250
    partner.max_fiat_per_request = 1_000_000
    partner.save()
    form = portal.get("/portal/settings/").context["form"]
    assert form.initial["min_amount"] == "2.50"
    assert form.initial["max_amount"] == "10000.00"


def test_eur_amounts_are_stored_in_cents(portal, partner):
    response = portal.post(
        "/portal/settings/", form_data(min_amount="12.50", max_amount="2500")
    )
    assert response.status_code == 302
    partner.refresh_from_db()
    assert partner.min_fiat_per_request == 1250
    assert partner.max_fiat_per_request == 250_000


def test_jpy_amounts_are_whole_yen(portal, partner):
    response = portal.post(
        "/portal/settings/",
        form_data(default_currency="JPY", min_amount="150", max_amount="50000"),
    )
    assert response.status_code == 302
    partner.refresh_from_db()
    assert partner.default_currency == "JPY"
    assert (partner.min_fiat_per_request, partner.max_fiat_per_request) == (150, 50_000)


def test_jpy_with_decimals_is_refused_and_nothing_changes(portal, partner):
    response = portal.post(
        "/portal/settings/", form_data(default_currency="JPY", min_amount="12.50")
    )
    assert response.status_code == 400
    assert error_codes(response) == {"min_amount": ["invalid_amount"]}
    partner.refresh_from_db()
    assert (partner.default_currency, partner.min_fiat_per_request) == ("EUR", 100)


def test_the_same_text_means_different_minor_units_per_currency(portal, partner):
    portal.post("/portal/settings/", form_data(min_amount="100"))
    partner.refresh_from_db()
    assert partner.min_fiat_per_request == 10_000
    portal.post(
        "/portal/settings/", form_data(default_currency="JPY", min_amount="100")
    )
    partner.refresh_from_db()
    assert partner.min_fiat_per_request == 100


def test_max_below_min_is_refused(portal, partner):
    response = portal.post(
        "/portal/settings/", form_data(min_amount="50", max_amount="10")
    )
    assert response.status_code == 400
    assert error_codes(response) == {"max_amount": ["amount_below_minimum"]}


def test_default_currency_must_be_enabled(portal, partner):
    response = portal.post(
        "/portal/settings/",
        form_data(enabled_currencies=["USD"], default_currency="EUR"),
    )
    assert response.status_code == 400
    assert error_codes(response) == {"default_currency": ["unsupported_currency"]}


def test_unknown_currency_is_refused(portal, partner):
    response = portal.post(
        "/portal/settings/", form_data(enabled_currencies=["EUR", "XAU"])
    )
    assert response.status_code == 400
    assert "enabled_currencies" in error_codes(response)
    partner.refresh_from_db()
    assert "XAU" not in partner.enabled_currencies


def test_no_currency_is_refused(portal, partner):
    response = portal.post("/portal/settings/", form_data(enabled_currencies=[]))
    assert response.status_code == 400
    assert "enabled_currencies" in error_codes(response)


@pytest.mark.parametrize(
    ("field", "value", "ok"),
    [
        ("pos_expiry_seconds", "59", False),
        ("pos_expiry_seconds", "60", True),
        ("pos_expiry_seconds", "86400", True),
        ("pos_expiry_seconds", "86401", False),
        ("invoice_expiry_seconds", "3599", False),
        ("invoice_expiry_seconds", "3600", True),
        ("invoice_expiry_seconds", "7776000", True),
        ("invoice_expiry_seconds", "7776001", False),
    ],
)
def test_expiry_bounds(portal, partner, field, value, ok):
    response = portal.post("/portal/settings/", form_data(**{field: value}))
    partner.refresh_from_db()
    if ok:
        assert response.status_code == 302
        assert getattr(partner, field) == int(value)
    else:
        assert response.status_code == 400
        assert error_codes(response) == {field: ["invalid_expiry"]}


def test_enabled_currencies_are_stored_in_canonical_order(portal, partner):
    portal.post(
        "/portal/settings/",
        form_data(enabled_currencies=["USD", "EUR", "AED"], default_currency="USD"),
    )
    partner.refresh_from_db()
    assert partner.enabled_currencies == ["AED", "EUR", "USD"]


def test_settings_are_per_partner(portal, partner, other_partner):
    portal.post("/portal/settings/", form_data(min_amount="9.99"))
    other_partner.refresh_from_db()
    assert other_partner.min_fiat_per_request == 100


def test_a_new_default_currency_asks_to_check_the_limits_first(portal, partner):
    # The page showed ¥100 … ¥50,000; changing only the default to EUR read the
    # same digits as €100.00 … €50,000.00, silently.
    portal.post(
        "/portal/settings/",
        form_data(default_currency="JPY", min_amount="100", max_amount="50000"),
    )
    page = portal.get("/portal/settings/")
    assert page.context["form"].initial["limits_currency"] == "JPY"
    shown_in_jpy = form_data(
        default_currency="EUR",
        min_amount="100",
        max_amount="50000",
        limits_currency="JPY",
    )

    response = portal.post("/portal/settings/", shown_in_jpy)

    assert response.status_code == 400
    assert error_codes(response) == {"min_amount": ["invalid_request"]}
    assert "now EUR (they were in JPY)" in response.content.decode()
    partner.refresh_from_db()
    assert (partner.default_currency, partner.min_fiat_per_request) == ("JPY", 100)
    # The page now shows the limits in EUR; saving again keeps them as typed.
    assert response.context["form"]["limits_currency"].value() == "EUR"
    again = portal.post("/portal/settings/", {**shown_in_jpy, "limits_currency": "EUR"})
    assert again.status_code == 302
    partner.refresh_from_db()
    assert (partner.default_currency, partner.min_fiat_per_request) == ("EUR", 10_000)


def test_limits_typed_with_the_currency_change_in_the_same_currency_save(
    portal, partner
):
    response = portal.post(
        "/portal/settings/",
        form_data(default_currency="EUR", min_amount="2.00", limits_currency="EUR"),
    )
    assert response.status_code == 302
