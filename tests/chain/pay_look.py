"""Helpers for the pay page's look in a browser (D22 branding, WCAG contrast):
the marks such a module carries, a paid request, a partner's colour and logo,
and CSS colours read as hex."""

from __future__ import annotations

import re
import struct
import zlib

import pytest
from django.utils import timezone

from payments.models import PaymentRequest

from .conftest import CHAIN_ID

PR = PaymentRequest
BROWSER_MARKS = [
    pytest.mark.chain,
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]
LOGO = "https://logo.example/wordmark.png"


def hex_of(css_colour: str) -> str:
    """``rgb(255, 102, 0)`` (or ``rgba(...)``) → ``#ff6600`` (alpha dropped)."""
    r, g, b = (int(v) for v in re.findall(r"\d+", css_colour)[:3])
    return f"#{r:02x}{g:02x}{b:02x}"


def paid_request(make_request, tx_byte: str, **fields) -> PaymentRequest:
    """A request paid and verified on the local chain, its hash ``tx_byte`` × 32."""
    return make_request(
        status=PR.Status.PAID,
        proof_status=PR.ProofStatus.VERIFIED,
        chain_id=CHAIN_ID,
        tx_hash="0x" + tx_byte * 32,
        verified_at=timezone.now(),
        **fields,
    )


def branded(pr: PaymentRequest, **colours: str) -> PaymentRequest:
    """``pr`` with its partner's colours set (``primary_color="#ffff00"``)."""
    for field, value in colours.items():
        setattr(pr.partner, field, value)
    pr.partner.save()
    return pr


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
