"""A button in a light brand colour still shows its shape on the white card
(D22 branding, WCAG 1.4.11: 3:1 for what identifies a control). In #ffffff
"Submit transaction" and "View receipt" were bare bold words, and in #ffff00
a pale patch (1.07:1). Those get an edge in the brand darkened until it reads;
a brand that reads on white looks as before."""

from __future__ import annotations

import re

import pytest
from django.utils import timezone

from merchants.templatetags.brand_colours import contrast
from payments.models import PaymentRequest

from .conftest import CHAIN_ID

pytestmark = [
    pytest.mark.chain,
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

PR = PaymentRequest
LOOK = """e => [getComputedStyle(e).backgroundColor, getComputedStyle(e).boxShadow,
              getComputedStyle(e.closest('.card')).backgroundColor]"""


def _hex(css_colour: str) -> str:
    r, g, b = (int(v) for v in re.findall(r"\d+", css_colour)[:3])
    return f"#{r:02x}{g:02x}{b:02x}"


def edge_of(control) -> tuple[str, str, str]:
    """The button's face, the colour of its inset edge (its face without
    one), and the card's colour."""
    face, shadow, card = control.evaluate(LOOK)
    edge = shadow if shadow != "none" and "inset" in shadow else face
    return _hex(face), _hex(edge), _hex(card)


@pytest.mark.parametrize("brand", ["#ffffff", "#ffff00", "#FF6600", "#0f172a"])
def test_a_brand_button_shows_its_shape_on_the_card(
    live_server, page, local_chain, make_request, brand
):
    pr = make_request()
    pr.partner.primary_color = brand
    pr.partner.save()
    paid = make_request(
        status=PR.Status.PAID,
        proof_status=PR.ProofStatus.VERIFIED,
        chain_id=CHAIN_ID,
        tx_hash="0x" + "2f" * 32,
        verified_at=timezone.now(),
    )
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
