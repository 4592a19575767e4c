"""Helpers shared by the merchant API tests (one copy instead of four)."""

from __future__ import annotations


def refusal(response, status: int = 400) -> dict:
    """The error envelope of ``response``, after checking its status and ``ok``."""
    assert response.status_code == status, response.content
    body = response.json()
    assert body["ok"] is False, body
    return body


def broken_checksum(address: str) -> str:
    """``address`` (EIP-55) with the case of its first letter flipped: the same
    hex, a checksum that no longer matches."""
    for i, ch in enumerate(address[2:], start=2):
        if ch.isalpha():
            return address[:i] + ch.swapcase() + address[i + 1 :]
    raise AssertionError(f"{address} has no letter to flip")
