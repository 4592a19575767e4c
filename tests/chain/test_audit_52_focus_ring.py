"""The keyboard focus shows on the partner's pages in every brand colour (D22
branding, WCAG 2.4.7 and 1.4.11: an indicator of 3:1). Fields were ringed in
the primary colour itself (#ffff00 on the white card: 1.07:1), and buttons in
Chromium's dark default ring, flush with the button: on a dark brand button
(#0f172a) nothing showed that it had the focus."""

from __future__ import annotations

import re

import pytest

from merchants.templatetags.brand_colours import contrast

pytestmark = [
    pytest.mark.chain,
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

RING = """e => {
  const s = getComputedStyle(e);
  return [s.outlineStyle, s.outlineWidth, s.outlineOffset, s.outlineColor,
          s.backgroundColor, getComputedStyle(e.closest('.card')).backgroundColor];
}"""


def _hex(css_colour: str) -> str:
    r, g, b = (int(v) for v in re.findall(r"\d+", css_colour)[:3])
    return f"#{r:02x}{g:02x}{b:02x}"


def assert_ring_shows(control, what: str) -> None:
    style, width, offset, ring, face, card = control.evaluate(RING)
    assert style not in ("none", "auto"), (what, style)
    assert float(width.removesuffix("px")) >= 2, (what, width)
    ring, face, card = _hex(ring), _hex(face), _hex(card)
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
    pr = make_request()
    pr.partner.primary_color = brand
    pr.partner.save()
    page.goto(f"{live_server.url}/pay/{pr.pk}")

    field = page.get_by_test_id("tx-hash")
    field.focus()
    assert_ring_shows(field, "hash field")
    page.keyboard.press("Tab")  # keyboard focus: :focus-visible
    button = page.get_by_role("button", name="Submit transaction")
    assert button.evaluate("e => e === document.activeElement")
    assert_ring_shows(button, "submit button")
