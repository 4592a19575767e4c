"""One-time secrets parked for the GET after a POST, in two halves.

A new API key or webhook secret is shown once, on the page the POST redirects
to (post/redirect/get: a reload never creates or rotates again). Until that
GET it is parked split: the session keeps it XOR a random pad of its length,
a short-lived cookie keeps the pad. Neither half alone says anything, so the
session table never holds the secret in plaintext (D6, D25).
"""

from __future__ import annotations

import secrets

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse


def seal(text: str) -> tuple[str, str]:
    """``(sealed, pad)``: ``text`` XOR a random pad of its length, both as hex."""
    raw = text.encode()
    pad = secrets.token_bytes(len(raw))
    return bytes(a ^ b for a, b in zip(raw, pad, strict=True)).hex(), pad.hex()


def unseal(sealed: object, pad: str | None) -> str | None:
    """The text from its two halves, or ``None`` when either is missing or bad."""
    try:
        a, b = bytes.fromhex(str(sealed)), bytes.fromhex(pad or "")
        return bytes(x ^ y for x, y in zip(a, b, strict=True)).decode()
    except ValueError:  # also UnicodeDecodeError
        return None


def redirect_with_pad(
    request: HttpRequest, url_name: str, *, cookie: str, pad: str, max_age: int
) -> HttpResponse:
    """Redirect to the portal page ``url_name``; only that page gets the pad cookie.

    The caller has put the sealed half in the session; the page unseals and
    drops it on its next GET.
    """
    response = redirect(url_name)
    response.set_cookie(
        cookie,
        pad,
        max_age=max_age,
        path=reverse(url_name),
        secure=request.is_secure(),
        httponly=True,
        samesite="Strict",
    )
    return response
