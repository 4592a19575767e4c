"""The pay page's top bar in the partner's secondary colour (D22 branding):
every text on it reads at WCAG's 4.5:1. "Secure USDC payment" was a fixed
light grey, 1.5:1 on a white bar and 3.5:1 even on JoPay's own blue."""

from __future__ import annotations

import re

import pytest

from merchants.templatetags.brand_colours import contrast

pytestmark = [
    pytest.mark.chain,
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


def _hex(css_colour: str) -> str:
    r, g, b = (int(v) for v in re.findall(r"\d+", css_colour)[:3])
    return f"#{r:02x}{g:02x}{b:02x}"


@pytest.mark.parametrize("bar", ["#ffffff", "#FF6600", "#2563eb", "#0f172a"])
def test_every_text_on_the_top_bar_reads_on_the_partners_colour(
    live_server, page, local_chain, make_request, bar
):
    pr = make_request()
    pr.partner.secondary_color = bar
    pr.partner.save()
    page.goto(f"{live_server.url}/pay/{pr.pk}")

    background = _hex(
        page.locator(".pay-topbar").evaluate("e => getComputedStyle(e).backgroundColor")
    )
    assert background == bar.lower()
    for selector in (".pay-topbar .brand", ".pay-secure"):
        text = _hex(page.locator(selector).evaluate("e => getComputedStyle(e).color"))
        assert contrast(background, text) >= 4.5, (selector, text, bar)
