"""FX overrides on ``/portal/settings/`` (D14, D31): a partner pins its own rate
per enabled currency, sees it next to the global one, and removes it; never
another partner's (D10), in both modes, CSRF-protected."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from playwright.sync_api import expect

from payments.models import FxRate
from payments.services import fx_rate_for, fx_rate_set_manual
from tests.browser import chromium, portal_sign_in
from tests.factories import PartnerUserFactory, UserFactory
from tests.portal.conftest import PASSWORD, logged_in

pytestmark = pytest.mark.django_db

SETTINGS = "/portal/settings/"
SET = "/portal/settings/fx/"


def remove_url(currency: str) -> str:
    return f"/portal/settings/fx/{currency}/remove/"


def override(partner, currency: str) -> FxRate | None:
    return FxRate.objects.filter(partner=partner, currency=currency).first()


def fx_error_codes(response) -> dict[str, list[str]]:
    form = response.context["fx_form"]
    return {f: [e.code for e in errs] for f, errs in form.errors.as_data().items()}


def _body(response) -> bytes:
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", response.content)


def test_list_shows_only_own_overrides_next_to_the_global_rate(
    portal, partner, other_partner, rates
):
    fx_rate_set_manual(currency="EUR", rate=Decimal("0.95"), partner=partner)
    fx_rate_set_manual(currency="EUR", rate=Decimal("0.51"), partner=other_partner)
    fx_rate_set_manual(currency="GBP", rate=Decimal("0.79"), partner=other_partner)

    response = portal.get(SETTINGS)

    assert response.status_code == 200
    rows = response.context["fx_overrides"]
    assert [(r.currency, r.rate) for r in rows] == [("EUR", "0.95")]
    eur = rows[0]
    assert (eur.global_rate, eur.global_source) == ("0.92", "test-feed")
    assert eur.global_is_stale is False
    page = response.content.decode()
    assert 'data-currency="EUR"' in page
    assert 'data-currency="GBP"' not in page
    assert "0.51" not in page
    assert "0.79" not in page
    assert "live and test mode alike" in page


def test_empty_list_and_form_offers_only_enabled_currencies(portal, partner):
    partner.enabled_currencies = ["EUR", "JPY"]
    partner.save()

    response = portal.get(SETTINGS)

    assert response.context["fx_overrides"] == []
    assert b'data-testid="fx-override-empty"' in response.content
    choices = response.context["fx_form"].fields["currency"].widget.choices
    assert [c for c, _ in choices] == ["EUR", "JPY"]


def test_set_creates_a_pinned_override_used_by_fx_rate_for(
    portal, partner, other_partner, rates
):
    response = portal.post(SET, {"currency": "EUR", "rate": "0.95"})

    assert response.status_code == 302
    assert response["Location"] == "/portal/settings/#fx"
    rate = fx_rate_for(partner, "EUR")
    assert rate.partner_id == partner.pk
    assert (rate.rate, rate.source, rate.pinned) == (Decimal("0.95"), "manual", True)
    # The global rate and the other partner are untouched.
    assert fx_rate_for(other_partner, "EUR").rate == Decimal("0.92")
    assert FxRate.objects.get(partner__isnull=True, currency="EUR").pinned is False
    page = portal.get(SETTINGS).content.decode()
    assert "pinned at 0.95 per USDC" in page


def test_set_replaces_an_existing_override(portal, partner, rates):
    portal.post(SET, {"currency": "JPY", "rate": "150.5"})
    response = portal.post(SET, {"currency": "JPY", "rate": " 149.123456789012345678 "})

    assert response.status_code == 302
    assert FxRate.objects.filter(partner=partner, currency="JPY").count() == 1
    assert fx_rate_for(partner, "JPY").rate == Decimal("149.123456789012345678")


def test_override_set_in_test_mode_applies_to_both_modes(
    portal_test, portal, partner, rates
):
    assert portal_test.post(SET, {"currency": "USD", "rate": "1.01"}).status_code == 302

    rows = portal.get(SETTINGS).context["fx_overrides"]

    assert [(r.currency, r.rate) for r in rows] == [("USD", "1.01")]
    assert fx_rate_for(partner, "USD").rate == Decimal("1.01")


@pytest.mark.parametrize(
    "rate",
    [
        "",
        "abc",
        "0",
        "0.0",
        "-0.92",
        "+0.92",
        "1e3",
        "0,92",
        "1,000",
        "0.",
        ".92",
        "NaN",
        "Infinity",
        "0.0009",  # below 0.001
        "1000000000",  # not below 1e9
        "99999999999999999999",
        "1.0000000000000000001",  # 19 places
        "0.92" + "0" * 60,  # longer than the field
    ],
)
def test_invalid_rate_is_a_form_error_and_writes_nothing(portal, partner, rate):
    fx_rate_set_manual(currency="EUR", rate=Decimal("0.95"), partner=partner)

    response = portal.post(SET, {"currency": "EUR", "rate": rate})

    assert response.status_code == 400
    assert "rate" in fx_error_codes(response)
    assert b'data-testid="fx-override-form"' in response.content
    assert override(partner, "EUR").rate == Decimal("0.95")
    assert FxRate.objects.filter(partner=partner).count() == 1


def test_rate_errors_carry_registry_codes_and_say_why(portal):
    cases = {
        "1e3": "like 0.92",
        "0.0009": "from 0.001 up to 1,000,000,000",
        "1.0000000000000000001": "at most 18 decimal places",
    }
    for rate, text in cases.items():
        response = portal.post(SET, {"currency": "EUR", "rate": rate})
        assert fx_error_codes(response) == {"rate": ["invalid_request"]}, rate
        assert text in response.content.decode(), rate


def test_boundary_rates_are_accepted(portal, partner):
    for rate in ("0.001", "999999999.999999999999999999"):
        assert portal.post(SET, {"currency": "EUR", "rate": rate}).status_code == 302
        assert override(partner, "EUR").rate == Decimal(rate)


@pytest.mark.parametrize(
    ("currency", "code"),
    [
        ("CHF", "unsupported_currency"),  # supported, not enabled for alice
        ("XXX", "invalid_currency"),  # ISO 4217 "no currency": not one of the 28
        ("eur", "invalid_currency"),
        ("", "required"),
    ],
)
def test_currency_not_enabled_is_refused(portal, partner, currency, code):
    response = portal.post(SET, {"currency": currency, "rate": "0.9"})

    assert response.status_code == 400
    assert fx_error_codes(response)["currency"] == [code]
    assert not FxRate.objects.filter(partner=partner).exists()


def test_remove_deletes_the_override_and_the_global_rate_applies(
    portal, partner, other_partner, rates
):
    fx_rate_set_manual(currency="EUR", rate=Decimal("0.95"), partner=partner)
    fx_rate_set_manual(currency="EUR", rate=Decimal("0.51"), partner=other_partner)

    response = portal.post(remove_url("EUR"))

    assert response.status_code == 302
    assert response["Location"] == "/portal/settings/#fx"
    assert override(partner, "EUR") is None
    assert fx_rate_for(partner, "EUR").rate == Decimal("0.92")
    assert override(other_partner, "EUR").rate == Decimal("0.51")
    assert FxRate.objects.filter(partner__isnull=True, currency="EUR").exists()


def test_another_partners_override_cannot_be_removed(portal, other_partner):
    fx_rate_set_manual(currency="GBP", rate=Decimal("0.79"), partner=other_partner)

    foreign = portal.post(remove_url("GBP"))
    missing = portal.post(remove_url("ZZZ"))

    assert foreign.status_code == missing.status_code == 404
    assert _body(foreign) == _body(missing)  # the portal's one 404 page
    assert override(other_partner, "GBP").rate == Decimal("0.79")


def test_bob_sees_and_removes_only_his_own(bob_portal, partner, other_partner):
    fx_rate_set_manual(currency="EUR", rate=Decimal("0.95"), partner=partner)

    assert bob_portal.get(SETTINGS).context["fx_overrides"] == []
    assert bob_portal.post(remove_url("EUR")).status_code == 404
    assert override(partner, "EUR").rate == Decimal("0.95")
    bob_portal.post(SET, {"currency": "EUR", "rate": "0.5"})
    assert override(partner, "EUR").rate == Decimal("0.95")
    assert override(other_partner, "EUR").rate == Decimal("0.5")


def test_csrf_is_enforced(alice_user, partner):
    fx_rate_set_manual(currency="EUR", rate=Decimal("0.95"), partner=partner)
    client = logged_in(alice_user, enforce_csrf_checks=True)

    assert client.post(SET, {"currency": "USD", "rate": "1.01"}).status_code == 403
    assert client.post(remove_url("EUR")).status_code == 403

    assert override(partner, "USD") is None
    assert override(partner, "EUR").rate == Decimal("0.95")


def test_csrf_token_from_the_page_is_accepted(alice_user, partner):
    client = logged_in(alice_user, enforce_csrf_checks=True)
    client.get(SETTINGS)
    token = client.cookies["csrftoken"].value

    response = client.post(
        SET, {"currency": "USD", "rate": "1.01", "csrfmiddlewaretoken": token}
    )

    assert response.status_code == 302
    assert override(partner, "USD").rate == Decimal("1.01")


@pytest.mark.parametrize("path", [SET, remove_url("EUR")])
def test_anonymous_posts_are_sent_to_login(client, path):
    response = client.post(path, {"currency": "EUR", "rate": "1"})

    assert response.status_code == 302
    assert response["Location"].startswith("/portal/login/")
    assert not FxRate.objects.exists()


@pytest.mark.parametrize("path", [SET, remove_url("EUR")])
def test_get_is_not_allowed(portal, path):
    assert portal.get(path).status_code == 405


def test_override_of_a_currency_disabled_since_is_listed_and_removable(portal, partner):
    fx_rate_set_manual(currency="GBP", rate=Decimal("0.79"), partner=partner)
    partner.enabled_currencies = ["EUR"]
    partner.save()

    rows = portal.get(SETTINGS).context["fx_overrides"]
    assert [(r.currency, r.is_enabled) for r in rows] == [("GBP", False)]
    assert rows[0].global_rate is None
    assert portal.post(remove_url("GBP")).status_code == 302
    assert override(partner, "GBP") is None


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_set_and_remove_in_a_real_browser(live_server, partner, rates):
    """The forms as a person uses them: tokens, the select, the confirm prompt."""
    user = UserFactory(username="fx@alice-pay.example", email="fx@alice-pay.example")
    PartnerUserFactory(user=user, partner=partner)
    base = live_server.url
    with chromium() as browser:
        page = browser.new_page()
        page.set_default_timeout(10_000)
        page.on("dialog", lambda dialog: dialog.accept())
        portal_sign_in(page, base, user.email, PASSWORD)

        page.goto(f"{base}/portal/settings/")
        form = page.get_by_test_id("fx-override-form")
        form.locator("select[name=currency]").select_option("EUR")
        form.locator("input[name=rate]").fill("0.0001")
        form.locator("button[type=submit]").click()
        expect(page.locator("#fx .errorlist")).to_contain_text("from 0.001")
        form.locator("input[name=rate]").fill("0.95")
        form.locator("button[type=submit]").click()
        expect(page.locator(".messages")).to_contain_text("pinned at 0.95")
        row = page.locator("[data-testid=fx-override][data-currency=EUR]")
        expect(row.get_by_test_id("fx-override-rate")).to_have_text("0.95")
        expect(row.get_by_test_id("fx-global-rate")).to_contain_text("0.92")
        assert fx_rate_for(partner, "EUR").rate == Decimal("0.95")

        row.get_by_role("button", name="Remove").click()
        expect(page.locator(".messages")).to_contain_text("Removed your EUR override")
        expect(page.get_by_test_id("fx-override-empty")).to_be_visible()
    assert fx_rate_for(partner, "EUR").rate == Decimal("0.92")


def test_a_rate_far_from_the_global_one_needs_a_second_look(portal, partner, rates):
    # 1.087 is USD per EUR, typed for EUR per USDC (global 0.92): every €25.00
    # request would have asked 22.999939 USDC instead of about 27.17.
    response = portal.post(SET, {"currency": "EUR", "rate": "1.087"})

    assert response.status_code == 400
    assert fx_error_codes(response) == {"rate": ["invalid_request"]}
    page = response.content.decode()
    assert "18% away from the current rate for EUR" in page
    assert "100 EUR would be 92.00 USDC" in page
    assert 'data-testid="fx-confirm"' in page
    assert override(partner, "EUR") is None

    confirmed = {"currency": "EUR", "rate": "1.087", "confirm": "on"}
    assert portal.post(SET, confirmed).status_code == 302
    assert override(partner, "EUR").rate == Decimal("1.087")


def test_a_rate_near_the_global_one_is_pinned_at_once(portal, partner, rates):
    assert portal.post(SET, {"currency": "EUR", "rate": "0.95"}).status_code == 302
    assert override(partner, "EUR").rate == Decimal("0.95")
