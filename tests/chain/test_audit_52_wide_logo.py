"""A partner's wide logo (a wordmark) fits a 320 px phone (D22 branding, WCAG
reflow). The logo was drawn 32 px high at its own proportions: a 12:1
wordmark was 384 px wide, so the pay page and the receipt scrolled sideways
and the logo was cut off."""

from __future__ import annotations

import struct
import zlib

import pytest
from django.utils import timezone

from payments.models import PaymentRequest

from .conftest import CHAIN_ID

pytestmark = [
    pytest.mark.chain,
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

PR = PaymentRequest
LOGO = "https://logo.example/wordmark.png"
WIDTHS = "() => [document.documentElement.scrollWidth, window.innerWidth]"


def png(width: int, height: int) -> bytes:
    """A plain blue RGB PNG of that size."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
        return struct.pack(">I", len(data)) + kind + data + crc

    rows = b"".join(b"\x00" + b"\x22\x66\xcc" * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


@pytest.mark.parametrize("media", ["screen", "print"])
def test_a_wide_logo_fits_a_phone(
    live_server, browser, local_chain, make_request, partner, media
):
    partner.logo_url = LOGO
    partner.save()
    pr = make_request()
    paid = make_request(
        status=PR.Status.PAID,
        proof_status=PR.ProofStatus.VERIFIED,
        chain_id=CHAIN_ID,
        tx_hash="0x" + "3e" * 32,
        verified_at=timezone.now(),
    )
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
