"""A form sent after its page's CSRF token went stale says what happened.

Signing in rotates the CSRF token, so a form still open in another tab (a
second login page, a settings page from before signing out and in again) is
refused. The refusal was Django's bare "Forbidden (403) CSRF verification
failed. Request aborted. More information is available with DEBUG=True.": no
way on, and no word on whether anything was saved. It stays a 403 that saves
nothing, in the site's own words, saying to reload the page.
"""

from __future__ import annotations

import re

import pytest
from django.test import Client

from tests.portal.conftest import PASSWORD

pytestmark = pytest.mark.django_db


TOKEN = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def token(page) -> str:
    return TOKEN.search(page.content.decode())[1]


def sign_in(client: Client, email: str):
    fresh = token(client.get("/portal/login/"))
    return client.post(
        "/portal/login/",
        {"email": email, "password": PASSWORD, "csrfmiddlewaretoken": fresh},
    )


def assert_friendly_refusal(response):
    text = response.content.decode()
    assert response.status_code == 403
    assert "CSRF verification failed" not in text
    assert "DEBUG=True" not in text
    assert "Nothing was saved" in text
    assert "reload" in text.lower()


def test_a_second_login_tab_after_signing_in_in_the_first(alice_user):
    browser = Client(enforce_csrf_checks=True)
    second_tab = token(browser.get("/portal/login/"))
    assert sign_in(browser, "alice@example.com").status_code == 302

    response = browser.post(
        "/portal/login/",
        {
            "email": "alice@example.com",
            "password": PASSWORD,
            "csrfmiddlewaretoken": second_tab,
        },
    )

    assert_friendly_refusal(response)


def test_a_settings_tab_from_before_signing_out_and_in(alice_user, partner):
    browser = Client(enforce_csrf_checks=True)
    sign_in(browser, "alice@example.com")
    settings_tab = token(browser.get("/portal/settings/"))
    browser.post("/portal/logout/", {"csrfmiddlewaretoken": settings_tab})
    sign_in(browser, "alice@example.com")

    response = browser.post(
        "/portal/settings/",
        {
            "csrfmiddlewaretoken": settings_tab,
            "enabled_currencies": ["EUR"],
            "default_currency": "EUR",
            "min_amount": "5.00",
            "max_amount": "",
            "pos_expiry_seconds": "600",
            "invoice_expiry_seconds": "604800",
        },
    )

    assert_friendly_refusal(response)
    partner.refresh_from_db()
    assert partner.pos_expiry_seconds != 600


def test_the_onboarding_form_gets_the_same_page(db):
    # The merchants' onboarding form is CSRF-protected too; its refusal (here:
    # no CSRF cookie) names no portal the merchant has no account for.
    response = Client(enforce_csrf_checks=True).post(
        "/onboard/some-token/", {"wallet_address": "0x" + "1" * 40}
    )

    assert_friendly_refusal(response)
    assert "portal" not in response.content.decode().lower()
