"""The portal's Copy buttons (the new API key, a merchant's id and onboarding
link), as on the pay page: drawn only where the script that makes them work
runs, and named for what they copy."""

from __future__ import annotations

import re

import pytest

from merchants.portal.views.keys import NEW_KEY_COOKIE
from tests.browser import chromium, portal_sign_in
from tests.factories import MerchantFactory, PartnerUserFactory, UserFactory
from tests.portal.conftest import PASSWORD, logged_in

COPY_BUTTON = re.compile(r"<button[^>]*\bdata-copy=[^>]*>", re.S)


def _copy_buttons(html: str) -> list[str]:
    return COPY_BUTTON.findall(html)


@pytest.fixture
def portal(partner):
    user = UserFactory(username="ops@alice-pay.example", email="ops@alice-pay.example")
    return logged_in(PartnerUserFactory(user=user, partner=partner))


@pytest.fixture
def pages(portal, partner):
    """The HTML of every portal page with a Copy button."""
    shell = MerchantFactory(
        partner=partner, wallet_address="", onboarding_status="incomplete"
    )
    created = portal.post(
        "/portal/api-keys/", {"name": "ci", "mode": "live", "access": "full"}
    )
    assert created.status_code == 302
    portal.cookies[NEW_KEY_COOKIE] = created.cookies[NEW_KEY_COOKIE].value
    keys = portal.get("/portal/api-keys/").content.decode()
    merchant = portal.get(f"/portal/merchants/{shell.pk}/").content.decode()
    return {"api-keys": keys, "merchant": merchant}


def test_copy_buttons_are_hidden_until_the_script_runs(pages):
    """Without script (blocked, or still loading) a Copy copied nothing, and
    the clipboard's old text was what got pasted: another key into a server's
    configuration while the new key, shown once, was gone."""
    buttons = [b for html in pages.values() for b in _copy_buttons(html)]
    assert len(buttons) == 3  # the new key; the merchant id and onboarding link
    for button in buttons:
        assert " hidden" in button, button
        assert "data-script-only" in button, button


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("script", [True, False], ids=["script", "no-script"])
def test_a_copy_button_shows_exactly_when_it_can_copy(live_server, partner, script):
    shell = MerchantFactory(
        partner=partner, wallet_address="", onboarding_status="incomplete"
    )
    user = UserFactory(username="ops@alice-pay.example", email="ops@alice-pay.example")
    PartnerUserFactory(user=user, partner=partner)
    with chromium() as browser:
        context = browser.new_context(java_script_enabled=script)
        page = context.new_page()
        portal_sign_in(page, live_server.url, user.email, PASSWORD)
        page.goto(f"{live_server.url}/portal/merchants/{shell.pk}/")
        copy = page.locator("[data-copy]")
        assert copy.count() == 2
        for i in range(2):
            assert copy.nth(i).is_visible() is script
        context.close()


def test_each_copy_button_says_what_it_copies(pages):
    """Two buttons named just "Copy" on the merchant page: a screen reader
    user could not tell the merchant id's from the onboarding link's."""
    labels = [
        re.search(r'aria-label="([^"]+)"', button)
        for html in pages.values()
        for button in _copy_buttons(html)
    ]
    assert all(labels), labels
    assert sorted(m.group(1) for m in labels) == [
        "Copy the merchant id",
        "Copy the new key",
        "Copy the onboarding link",
    ]
