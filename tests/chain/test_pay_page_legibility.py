"""The pay page and receipt stay legible for every customer (D22 pay page,
WCAG), whatever the partner's logo, the system's colours or the page's state.

- Grey text on the page's own background reads at AA's 4.5:1: --muted
  (#64748b) was 4.45:1 on the page grey (#f6f7fb), so "Funds go straight to
  the merchant's wallet" and the partner's footer fell short.
- The status the page can no longer confirm (its polls fail, D27) is still
  readable: the badge was dimmed to 55 % opacity (2.2:1 to 2.7:1) while the
  customer still needs to read "Awaiting payment" or "Expired". It is now
  marked as unconfirmed without losing contrast.
- Buttons keep their shape in the system's forced colours (Windows contrast
  themes): the theme replaces every background with one colour, and the
  buttons, drawn with no border, were left as bare words among the text.
- The partner's logo beside its name is not read out as the name again (WCAG
  1.1.1: an image next to the same text is decorative). Screen readers said
  "Alice Pay, Alice Pay" at the top of every pay page and receipt.
- A partner's wide logo (a wordmark) fits a 320 px phone (reflow): drawn 32 px
  high at its own proportions, a 12:1 wordmark was 384 px wide, so the pages
  scrolled sideways and the logo was cut off.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from merchants.templatetags.brand_colours import contrast

from .pay_look import BROWSER_MARKS, LOGO, PR, hex_of, paid_request, png

pytestmark = BROWSER_MARKS

MUTED = (
    "e => [getComputedStyle(e).color, getComputedStyle(document.body).backgroundColor]"
)
BADGE = """e => { const s = getComputedStyle(e);
  return [s.color, s.backgroundColor, s.opacity,
          getComputedStyle(e.closest('.card')).backgroundColor]; }"""
EDGE = "e => [getComputedStyle(e).borderTopStyle, getComputedStyle(e).borderTopWidth]"
WIDTHS = "() => [document.documentElement.scrollWidth, window.innerWidth]"


def test_the_text_outside_the_cards_reads_on_the_page_grey(
    live_server, page, local_chain, make_request
):
    pr = make_request()
    paid = paid_request(make_request, "4e")
    pages = {
        f"/pay/{pr.pk}": ["main > p.muted", "footer.site"],
        f"/pay/{paid.pk}/receipt": ["footer.site"],
    }
    for path, selectors in pages.items():
        page.goto(live_server.url + path)
        for selector in selectors:
            text, background = (
                hex_of(c) for c in page.locator(selector).evaluate(MUTED)
            )
            ratio = contrast(text, background)
            assert ratio >= 4.5, (path, selector, text, background, round(ratio, 2))


def _rgba(css_colour: str) -> tuple[list[float], float]:
    values = [float(v) for v in re.findall(r"[\d.]+", css_colour)]
    return values[:3], (values[3] if len(values) > 3 else 1.0)


def _over(colour: list[float], alpha: float, under: list[float]) -> list[float]:
    return [alpha * c + (1 - alpha) * u for c, u in zip(colour, under, strict=True)]


def _hex(rgb: list[float]) -> str:
    return "#" + "".join(f"{round(c):02x}" for c in rgb)


def seen_contrast(badge) -> float:
    """The text's contrast on the badge as drawn on the card: each colour's
    own alpha, then the element's opacity over the card."""
    text, face, opacity, card = badge.evaluate(BADGE)
    card_rgb, _ = _rgba(card)
    face_rgb = _over(*_rgba(face), card_rgb)
    text_rgb = _over(*_rgba(text), face_rgb)
    opacity = float(opacity)
    return contrast(
        _hex(_over(text_rgb, opacity, card_rgb)),
        _hex(_over(face_rgb, opacity, card_rgb)),
    )


@pytest.mark.parametrize(
    ("fields", "text"),
    [
        ({}, "Awaiting payment"),
        (
            {"status": PR.Status.EXPIRED, "expires_in": -timedelta(minutes=2)},
            "Expired",
        ),
    ],
)
def test_an_unconfirmed_status_stays_readable(
    live_server, page, local_chain, make_request, fields, text
):
    pr = make_request(**fields)
    page.route(
        "**/status",
        lambda route: route.fulfill(status=503, content_type="text/html", body="x"),
    )
    page.goto(f"{live_server.url}/pay/{pr.pk}")
    badge = page.get_by_test_id("status")
    expect(badge).to_have_text(text)
    expect(badge).to_have_attribute("data-stale", "", timeout=10_000)
    ratio = seen_contrast(badge)
    assert ratio >= 4.5, (text, round(ratio, 2))


@pytest.mark.parametrize("context_options", [{"forced_colors": "active"}])
def test_buttons_have_an_edge_in_forced_colours(
    live_server, page, local_chain, make_request
):
    pr = make_request()
    paid = paid_request(make_request, "0c")
    controls = {
        f"/pay/{pr.pk}": page.get_by_role("button", name="Submit transaction"),
        f"/pay/{paid.pk}": page.get_by_role("link", name="View receipt"),
    }
    for path, control in controls.items():
        page.goto(live_server.url + path)
        assert page.evaluate("matchMedia('(forced-colors: active)').matches")
        style, width = control.evaluate(EDGE)
        assert style not in ("none", "hidden"), (path, style)
        assert width != "0px", (path, width)


def test_the_top_bar_says_the_partners_name_once(
    live_server, page, local_chain, make_request, partner
):
    partner.logo_url = LOGO
    partner.save()
    page.route(LOGO, lambda r: r.fulfill(content_type="image/png", body=png(96, 32)))
    paid = paid_request(make_request, "1a")
    for path in (f"/pay/{make_request().pk}", f"/pay/{paid.pk}/receipt"):
        page.goto(live_server.url + path)
        page.locator(".pay-topbar img.pay-logo").wait_for()
        said = page.get_by_role("banner").aria_snapshot()
        assert said.count(partner.name) == 1, (path, said)


@pytest.mark.parametrize("media", ["screen", "print"])
def test_a_wide_logo_fits_a_phone(
    live_server, browser, local_chain, make_request, partner, media
):
    partner.logo_url = LOGO
    partner.save()
    pr = make_request()
    paid = paid_request(make_request, "3e")
    context = browser.new_context(viewport={"width": 320, "height": 700})
    context.route(
        LOGO,
        lambda route: route.fulfill(content_type="image/png", body=png(1200, 100)),
    )
    try:
        phone = context.new_page()
        phone.emulate_media(media=media)
        # Printed, the top bar is left out; the receipt prints its own logo.
        paths = [f"/pay/{paid.pk}/receipt"]
        if media == "screen":
            paths.append(f"/pay/{pr.pk}")
        for path in paths:
            phone.goto(live_server.url + path)
            logo = phone.locator("img.pay-logo:visible")
            logo.first.wait_for()
            assert logo.evaluate("e => e.complete && e.naturalWidth") == 1200
            scroll, viewport = phone.evaluate(WIDTHS)
            assert scroll <= viewport, (path, media, scroll)
            assert logo.evaluate("e => e.getBoundingClientRect().right") <= viewport
    finally:
        context.close()
