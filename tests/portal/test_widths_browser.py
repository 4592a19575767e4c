"""Portal pages at the widths partners' staff use: a 1024 px laptop, a
browser window on half a screen, a small tablet, a phone.

Headless Chromium against ``live_server`` (as ``tests/portal/test_browser.py``):
every action and every column stays on screen, without a sideways scroll.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from merchants.keys import api_key_create
from payments.services import fx_rate_set_manual
from tests.factories import MerchantFactory
from tests.portal.conftest import make_request
from tests.portal.portal_browser import (  # noqa: F401 (fixtures)
    alice_fixture,
    browser_fixture,
    page_fixture,
    sign_in,
)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Any table-wrap that scrolls sideways hides a column (and its buttons).
CLIPPED_JS = """() => {
  const bad = [];
  const root = document.documentElement;
  if (root.scrollWidth > root.clientWidth) bad.push("page " + root.scrollWidth);
  for (const el of document.querySelectorAll(".table-wrap")) {
    if (el.scrollWidth > el.clientWidth + 1) bad.push("table " + el.scrollWidth);
  }
  return bad;
}"""


@pytest.mark.parametrize("width", [660, 700, 960, 1024, 1060])
def test_the_revoke_button_of_a_key_is_on_screen_on_laptops_and_tablets(
    live_server, page, partner, alice, width
):
    """Between 900 and 1100 px (a 1024 px laptop, a window on half a 1920 px
    screen) the keys table shared the row with the create form and was cut
    off: Revoke, the one button to stop a leaked key, sat behind a sideways
    scroll of the card. The same between 640 and 700 px."""
    api_key_create(
        partner=partner,
        test_mode=False,
        name="reporting",
        scopes=["recurring:write", "requests:read"],
    )
    sign_in(page, live_server.url, alice.user.email)
    page.set_viewport_size({"width": width, "height": 860})
    page.goto(f"{live_server.url}/portal/api-keys/")

    assert page.evaluate(CLIPPED_JS) == []
    revoke = page.locator("[data-testid=key-list] button.danger").first
    box = revoke.bounding_box()
    wrap = page.locator(".table-wrap").first.bounding_box()
    assert box["x"] + box["width"] <= wrap["x"] + wrap["width"]


# Names and values without a break opportunity of their own: a German
# compound (business_name takes 120 characters), an accounting mailbox, an
# order token in metadata (values take 500 characters).
COMPOUND = "Donaudampfschifffahrtselektrizitaetenhauptbetriebswerkbauunterbeamten-GmbH"
MAILBOX = "buchhaltung.zentrale.rechnungseingang@konditoreibedarfsgrosshandel.example"


@pytest.mark.parametrize("width", [390, 1024, 1280])
def test_long_unbroken_names_and_values_do_not_push_pages_sideways(
    live_server, page, partner, alice, width
):
    """A merchant's name without spaces ran the detail page's heading off the
    screen (at 1280 px too), one long e-mail squeezed every name in the
    merchants list to a sliver and pushed Wallet and Created off screen, and
    a long metadata value (a badge that never wraps) widened the request page.
    """
    shop = MerchantFactory(partner=partner, business_name=COMPOUND, email=MAILBOX)
    MerchantFactory(partner=partner, business_name="Corner Books")
    pr = make_request(shop, metadata={"checkout_session": "cs_live_" + "a1" * 60})
    sign_in(page, live_server.url, alice.user.email)
    page.set_viewport_size({"width": width, "height": 860})
    for path in ("merchants/", f"merchants/{shop.pk}/", f"requests/{pr.pk}/"):
        page.goto(f"{live_server.url}/portal/{path}")
        assert page.evaluate(CLIPPED_JS) == [], path


@pytest.mark.parametrize("width", [680, 744])
def test_the_requests_list_fits_a_small_tablet(
    live_server, page, partner, alice, width
):
    """Between 640 and 760 px (an iPad mini held upright is 744 px) the
    requests table still had all six columns, about 670 px of them: the
    Created column was cut off on every row, even for short names."""
    shop = MerchantFactory(partner=partner, business_name="Blue Bottle")
    for cents in (1250, 4200, 99_999):
        make_request(shop, fiat_int=cents)
    sign_in(page, live_server.url, alice.user.email)
    page.set_viewport_size({"width": width, "height": 860})
    for path in ("requests/", f"merchants/{shop.pk}/"):
        page.goto(f"{live_server.url}/portal/{path}")
        assert page.evaluate(CLIPPED_JS) == [], path


@pytest.mark.parametrize("width", [360, 390, 680, 744, 780])
def test_an_fx_overrides_remove_button_is_on_screen(
    live_server, page, partner, alice, width
):
    """The FX overrides table (a rate takes up to 18 decimals) was wider than a
    phone: Remove, the way out of a mistyped rate that mis-prices every
    request in its currency, sat behind a sideways scroll of the table."""
    partner.enabled_currencies = ["EUR", "USD", "JPY"]
    partner.save()
    fx_rate_set_manual(
        currency="USD", rate=Decimal("1.000123456789012345"), partner=partner
    )
    fx_rate_set_manual(currency="JPY", rate=Decimal("151.25"), partner=partner)
    sign_in(page, live_server.url, alice.user.email)
    page.set_viewport_size({"width": width, "height": 860})
    page.goto(f"{live_server.url}/portal/settings/")

    assert page.evaluate(CLIPPED_JS) == []
    table = page.get_by_test_id("fx-override-list")
    for button in table.locator("button.danger").all():
        box = button.bounding_box()
        assert box["x"] + box["width"] <= width


@pytest.mark.parametrize("width", [660, 700, 800])
def test_every_portal_menu_entry_is_on_screen(live_server, page, partner, alice, width):
    """Between 640 and about 830 px the menu was one row that scrolled
    sideways with its scroll bar hidden: Activity and Docs (at 660 px
    Settings too) were off screen with nothing to show they existed, and a
    mouse could not reach them."""
    sign_in(page, live_server.url, alice.user.email)
    page.set_viewport_size({"width": width, "height": 860})
    page.goto(f"{live_server.url}/portal/")
    links = page.locator("nav.portal-nav a")
    assert links.count() == 9
    for link in links.all():
        box = link.bounding_box()
        assert box["x"] >= 0, link.inner_text()
        assert box["x"] + box["width"] <= width, link.inner_text()
