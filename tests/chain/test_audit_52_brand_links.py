"""Links on the partner's pages read on the white card (D22 branding, WCAG AA
4.5:1). They were painted in the partner's primary colour itself: "Open in
wallet app" and the receipt's transaction link were 1.07:1 in #ffff00 and
2.9:1 in #FF6600. Now in the brand colour darkened until it reads; a colour
that already reads stays as it is."""

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
HASH = "0x" + "5d" * 32
# The link's colour and the first opaque background behind it.
COLOURS = """e => {
  const look = x => getComputedStyle(x);
  let bg = e;
  while (bg && look(bg).backgroundColor.endsWith(', 0)')) bg = bg.parentElement;
  return [look(e).color, look(bg || document.body).backgroundColor];
}"""


def _hex(css_colour: str) -> str:
    r, g, b = (int(v) for v in re.findall(r"\d+", css_colour)[:3])
    return f"#{r:02x}{g:02x}{b:02x}"


def link_contrast(page, link) -> tuple[float, str]:
    text, background = (_hex(c) for c in link.evaluate(COLOURS))
    return contrast(text, background), text


@pytest.mark.parametrize("brand", ["#ffff00", "#FF6600", "#2563eb", "#ffffff"])
def test_every_link_reads_on_the_card_in_the_partners_colour(
    live_server, page, local_chain, make_request, brand
):
    local_chain.explorer_tx_url = "https://explorer.example/tx/{tx}"
    local_chain.save()
    open_pr = make_request(return_url="https://shop.example/back")
    open_pr.partner.primary_color = brand
    open_pr.partner.save()
    paid = make_request(
        status=PR.Status.PAID,
        proof_status=PR.ProofStatus.VERIFIED,
        chain_id=CHAIN_ID,
        tx_hash=HASH,
        verified_at=timezone.now(),
        return_url="https://shop.example/back",
    )
    links = {
        f"/pay/{open_pr.pk}": ["Open in wallet app"],
        f"/pay/{paid.pk}": ["View receipt", "Back to shop"],
        f"/pay/{paid.pk}/receipt": [HASH, "Back to shop"],
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
    pr = make_request()
    pr.partner.primary_color = brand
    pr.partner.save()
    page.goto(f"{live_server.url}/pay/{pr.pk}")
    _, colour = link_contrast(page, page.get_by_role("link", name="Open in wallet app"))
    assert colour == brand
