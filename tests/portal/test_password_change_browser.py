"""Changing the portal password in headless Chromium on a 390 px phone, then
signing in with the new one (``/portal/password/``)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser import chromium, portal_sign_in
from tests.factories import PartnerUserFactory, UserFactory
from tests.portal.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
NEW = "plum-orchard-lantern-42"
# Nothing on the page is wider than the phone's screen.
OVERFLOW_JS = "document.documentElement.scrollWidth - window.innerWidth"


@pytest.fixture
def page():
    with chromium() as browser:
        context = browser.new_context(viewport=PHONE)
        page = context.new_page()
        page.set_default_timeout(10_000)
        yield page
        context.close()


def sign_in(page, base: str, email: str, password: str) -> None:
    portal_sign_in(page, base, email, password, lands=None)


def test_change_the_password_on_a_phone_and_sign_in_with_it(live_server, page, partner):
    email = "ops@alice-pay.example"
    PartnerUserFactory(user=UserFactory(username=email, email=email), partner=partner)
    base = live_server.url
    sign_in(page, base, email, PASSWORD)
    expect(page).to_have_url(f"{base}/portal/")

    # Reached from the top bar; the current password field has the focus.
    page.get_by_test_id("nav-password").click()
    expect(page).to_have_url(f"{base}/portal/password/")
    assert page.evaluate("document.activeElement.name") == "old_password"
    assert page.evaluate(OVERFLOW_JS) <= 0

    # A mismatch is refused, the confirmation focused and on screen.
    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_label("New password", exact=True).fill(NEW)
    page.get_by_label("New password again").fill(NEW + "!")
    page.get_by_role("button", name="Change password").click()
    expect(page.locator("#id_new_password2_error")).to_contain_text("not the same")
    assert page.evaluate("document.activeElement.name") == "new_password2"
    expect(page.locator("input[name=new_password2]")).to_be_in_viewport()

    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_label("New password", exact=True).fill(NEW)
    page.get_by_label("New password again").fill(NEW)
    page.get_by_role("button", name="Change password").click()
    expect(page.locator(".messages")).to_contain_text("Password changed")
    assert page.evaluate(OVERFLOW_JS) <= 0

    # Still signed in here. Signed out, the old password fails, the new one works.
    page.goto(f"{base}/portal/")
    expect(page).to_have_url(f"{base}/portal/")
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(f"{base}/portal/login/")
    sign_in(page, base, email, PASSWORD)
    expect(page.get_by_test_id("login-error")).to_contain_text("not correct")
    sign_in(page, base, email, NEW)
    expect(page).to_have_url(f"{base}/portal/")
