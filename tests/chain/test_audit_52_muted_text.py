"""Grey text on the page's own background reads at WCAG AA's 4.5:1 (D22 pay
page). --muted (#64748b) was 4.45:1 on the page grey (#f6f7fb): "Funds go
straight to the merchant's wallet" and the partner's footer on every pay page
and receipt fell short."""

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
LOOK = (
    "e => [getComputedStyle(e).color, getComputedStyle(document.body).backgroundColor]"
)


def _hex(css_colour: str) -> str:
    r, g, b = (int(v) for v in re.findall(r"\d+", css_colour)[:3])
    return f"#{r:02x}{g:02x}{b:02x}"


def test_the_text_outside_the_cards_reads_on_the_page_grey(
    live_server, page, local_chain, make_request
):
    pr = make_request()
    paid = make_request(
        status=PR.Status.PAID,
        proof_status=PR.ProofStatus.VERIFIED,
        chain_id=CHAIN_ID,
        tx_hash="0x" + "4e" * 32,
        verified_at=timezone.now(),
    )
    pages = {
        f"/pay/{pr.pk}": ["main > p.muted", "footer.site"],
        f"/pay/{paid.pk}/receipt": ["footer.site"],
    }
    for path, selectors in pages.items():
        page.goto(live_server.url + path)
        for selector in selectors:
            text, background = (_hex(c) for c in page.locator(selector).evaluate(LOOK))
            ratio = contrast(text, background)
            assert ratio >= 4.5, (path, selector, text, background, round(ratio, 2))
