"""The merchant's onboarding pages (D28, D35) as a merchant opens them: on a
phone, from the link its partner sent. Headless Chromium against
``live_server`` (as ``tests/portal/test_browser.py``).
"""

from __future__ import annotations

import pytest
from django.test import Client
from playwright.sync_api import expect

from merchants.models import Merchant
from merchants.onboarding_links import merchant_onboarding_link
from tests.browser import chromium
from tests.factories import WALLET, MerchantFactory

PHONES = [{"width": 360, "height": 740}, {"width": 390, "height": 844}]
OVERFLOW_JS = """() => {
  const root = document.documentElement;
  return root.scrollWidth > root.clientWidth ? root.scrollWidth : 0;
}"""


@pytest.fixture(scope="module")
def browser():
    with chromium() as launched:
        yield launched


def _link_path(merchant: Merchant, base: str) -> str:
    url = merchant_onboarding_link(merchant=merchant).url
    return base + url[url.index("/onboard/") :]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "name", ["Mia's Bakery", "Rindfleischetikettierungsueberwachungsaufgaben-GmbH"]
)
@pytest.mark.parametrize("viewport", PHONES, ids=lambda v: f"{v['width']}px")
def test_the_onboarding_pages_fit_a_phone(
    live_server, browser, partner, viewport, name
):
    """The done page's wallet address (42 characters, no break of its own)
    ran past the card on every phone, so the merchant could not read the
    address it had just set without scrolling sideways; a business name
    without spaces did the same on the form."""
    merchant = MerchantFactory(
        partner=partner,
        business_name=name,
        wallet_address="",
        onboarding_status="incomplete",
    )
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    page.set_default_timeout(10_000)
    widths = {}
    try:
        page.goto(_link_path(merchant, live_server.url))
        widths["form"] = page.evaluate(OVERFLOW_JS)
        page.fill("input[name=wallet_address]", WALLET)
        page.check("input[name=accept_terms]")
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server.url}/onboard/done/")
        expect(page.locator("code")).to_have_text(WALLET)
        widths["done"] = page.evaluate(OVERFLOW_JS)
    finally:
        context.close()
    assert widths == {"form": 0, "done": 0}


def test_the_partners_name_on_the_onboarding_pages_leads_nowhere_else(client, db):
    """The header's partner name (and logo) linked to "/", JoPay's developer
    docs: a merchant clicking its partner's name left the form for the API
    reference. As on the pay page, the header names the partner, no link."""
    merchant = MerchantFactory(
        business_name="Mia's Bakery", wallet_address="", onboarding_status="incomplete"
    )
    path = _link_path(merchant, "")
    pages = {"form": client.get(path)}
    client.post(path, {"wallet_address": WALLET, "accept_terms": "on"})
    pages["done"] = client.get("/onboard/done/")
    pages["not valid"] = Client().get(path)  # another browser: a spent link
    for name, response in pages.items():
        html = response.content.decode()
        assert "brand" in html, name
        assert 'href="/"' not in html, name
