"""The pay page and receipt in the partner's colours (D22 branding): every
text, link, button and focus ring reads at WCAG's ratios whatever the colour.

- Top bar, in the secondary colour: "Secure USDC payment" was a fixed light
  grey, 1.5:1 on a white bar and 3.5:1 even on JoPay's own blue (4.5:1 asked).
- Links on the white card (4.5:1) were painted in the primary colour itself:
  "Open in wallet app" and the receipt's transaction link were 1.07:1 in
  #ffff00 and 2.9:1 in #FF6600. Now in the brand darkened until it reads; a
  colour that already reads stays as it is.
- Buttons (WCAG 1.4.11, 3:1 for what identifies a control): in #ffffff
  "Submit transaction" and "View receipt" were bare bold words, in #ffff00 a
  pale patch (1.07:1). Those get an edge in the brand darkened until it reads;
  a brand that reads on white looks as before.
- The keyboard focus (WCAG 2.4.7 and 1.4.11, an indicator of 3:1): fields were
  ringed in the primary colour itself (#ffff00: 1.07:1), and buttons in
  Chromium's dark default ring, flush with the button: on a dark brand button
  (#0f172a) nothing showed that it had the focus.
"""

from __future__ import annotations

import pytest

from merchants.templatetags.brand_colours import contrast

from .pay_look import BROWSER_MARKS, branded, hex_of, paid_request

pytestmark = BROWSER_MARKS

# The link's colour and the first opaque background behind it.
COLOURS = """e => {
  const look = x => getComputedStyle(x);
  let bg = e;
  while (bg && look(bg).backgroundColor.endsWith(', 0)')) bg = bg.parentElement;
  return [look(e).color, look(bg || document.body).backgroundColor];
}"""
EDGE = """e => [getComputedStyle(e).backgroundColor, getComputedStyle(e).boxShadow,
              getComputedStyle(e.closest('.card')).backgroundColor]"""
RING = """e => {
  const s = getComputedStyle(e);
  return [s.outlineStyle, s.outlineWidth, s.outlineOffset, s.outlineColor,
          s.backgroundColor, getComputedStyle(e.closest('.card')).backgroundColor];
}"""


@pytest.mark.parametrize("bar", ["#ffffff", "#FF6600", "#2563eb", "#0f172a"])
def test_every_text_on_the_top_bar_reads_on_the_partners_colour(
    live_server, page, local_chain, make_request, bar
):
    pr = branded(make_request(), secondary_color=bar)
    page.goto(f"{live_server.url}/pay/{pr.pk}")

    background = hex_of(
        page.locator(".pay-topbar").evaluate("e => getComputedStyle(e).backgroundColor")
    )
    assert background == bar.lower()
    for selector in (".pay-topbar .brand", ".pay-secure"):
        text = hex_of(page.locator(selector).evaluate("e => getComputedStyle(e).color"))
        assert contrast(background, text) >= 4.5, (selector, text, bar)


def link_contrast(page, link) -> tuple[float, str]:
    text, background = (hex_of(c) for c in link.evaluate(COLOURS))
    return contrast(text, background), text


@pytest.mark.parametrize("brand", ["#ffff00", "#FF6600", "#2563eb", "#ffffff"])
def test_every_link_reads_on_the_card_in_the_partners_colour(
    live_server, page, local_chain, make_request, brand
):
    local_chain.explorer_tx_url = "https://explorer.example/tx/{tx}"
    local_chain.save()
    back = "https://shop.example/back"
    open_pr = branded(make_request(return_url=back), primary_color=brand)
    paid = paid_request(make_request, "5d", return_url=back)
    links = {
        f"/pay/{open_pr.pk}": ["Open in wallet app"],
        f"/pay/{paid.pk}": ["View receipt", "Back to shop"],
        f"/pay/{paid.pk}/receipt": [paid.tx_hash, "Back to shop"],
    }
    for path, names in links.items():
        page.goto(live_server.url + path)
        for name in names:
            ratio, colour = link_contrast(page, page.get_by_role("link", name=name))
            assert ratio >= 4.5, (path, name, brand, colour, round(ratio, 2))


@pytest.mark.parametrize("brand", ["#0f172a", "#2563eb"])
def test_a_brand_colour_that_reads_keeps_its_own_links(
    live_server, page, local_chain, make_request, brand
):
    pr = branded(make_request(), primary_color=brand)
    page.goto(f"{live_server.url}/pay/{pr.pk}")
    _, colour = link_contrast(page, page.get_by_role("link", name="Open in wallet app"))
    assert colour == brand


def edge_of(control) -> tuple[str, str, str]:
    """The button's face, the colour of its inset edge (its face without
    one), and the card's colour."""
    face, shadow, card = control.evaluate(EDGE)
    edge = shadow if shadow != "none" and "inset" in shadow else face
    return hex_of(face), hex_of(edge), hex_of(card)


@pytest.mark.parametrize("brand", ["#ffffff", "#ffff00", "#FF6600", "#0f172a"])
def test_a_brand_button_shows_its_shape_on_the_card(
    live_server, page, local_chain, make_request, brand
):
    pr = branded(make_request(), primary_color=brand)
    paid = paid_request(make_request, "2f")
    buttons = {
        f"/pay/{pr.pk}": page.get_by_role("button", name="Submit transaction"),
        f"/pay/{paid.pk}": page.get_by_role("link", name="View receipt"),
    }
    for path, button in buttons.items():
        page.goto(live_server.url + path)
        face, edge, card = edge_of(button)
        assert face == brand.lower()
        assert contrast(edge, card) >= 3 or contrast(face, card) >= 3, (path, edge)
        if contrast(brand, "#ffffff") >= 4.5:
            assert edge == face  # no edge of another colour


def assert_ring_shows(control, what: str) -> None:
    style, width, offset, ring, face, card = control.evaluate(RING)
    assert style not in ("none", "auto"), (what, style)
    assert float(width.removesuffix("px")) >= 2, (what, width)
    ring, face, card = hex_of(ring), hex_of(face), hex_of(card)
    # The ring reads on the card around it ...
    assert contrast(ring, card) >= 3, (what, ring, card)
    # ... and is told apart from the control: a gap of card between them, or
    # a colour of its own.
    assert float(offset.removesuffix("px")) >= 2 or contrast(ring, face) >= 3, (
        what,
        ring,
        face,
        offset,
    )


@pytest.mark.parametrize("brand", ["#ffff00", "#FF6600", "#0f172a", "#ffffff"])
def test_the_focus_ring_shows_on_fields_and_brand_buttons(
    live_server, page, local_chain, make_request, brand
):
    pr = branded(make_request(), primary_color=brand)
    page.goto(f"{live_server.url}/pay/{pr.pk}")

    field = page.get_by_test_id("tx-hash")
    field.focus()
    assert_ring_shows(field, "hash field")
    page.keyboard.press("Tab")  # keyboard focus: :focus-visible
    button = page.get_by_role("button", name="Submit transaction")
    assert button.evaluate("e => e === document.activeElement")
    assert_ring_shows(button, "submit button")
