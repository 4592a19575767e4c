"""The secret a webhooks POST reveals, parked for the one GET that follows (D25).

Reveal, rotate and first enable answer with a redirect (post/redirect/get), so
a reload never rotates again and replaces the secret the partner just copied
(D25: a new secret is shown once). As on the API keys page, the secret is
parked in two halves: the session keeps it XOR a random pad, a short-lived
cookie only the webhooks pages receive keeps the pad.
"""

from __future__ import annotations

import json

from django.contrib import messages
from django.http import HttpRequest, HttpResponse

from merchants.portal.sealing import redirect_with_pad, seal, unseal
from webhooks.signing import standard_secret

SESSION_REVEALED = "portal_webhook_secret"
REVEALED_COOKIE = "jopay_webhook_secret_pad"
REVEALED_SECONDS = 600  # the redirect is followed at once; a stale half expires


def _unseal(sealed: object, pad: str | None) -> dict | None:
    """The parked secrets from both halves; ``None`` if either is missing or bad."""
    text = unseal(sealed, pad)
    try:
        value = json.loads(text) if text is not None else None
    except ValueError:
        return None
    if not isinstance(value, dict) or not isinstance(value.get("hex"), str):
        return None
    return value


def reveal_redirect(
    request: HttpRequest, hex_secret: str, previous: str = ""
) -> HttpResponse:
    """Redirect to the webhooks page, which shows ``hex_secret`` once."""
    sealed, pad = seal(json.dumps({"hex": hex_secret, "previous": previous}))
    request.session[SESSION_REVEALED] = sealed
    return redirect_with_pad(
        request,
        "portal:webhooks",
        cookie=REVEALED_COOKIE,
        pad=pad,
        max_age=REVEALED_SECONDS,
    )


def take_revealed(request: HttpRequest) -> dict | None:
    """The secret parked by the POST just before, for this one view (taken)."""
    sealed = request.session.pop(SESSION_REVEALED, None)
    if sealed is None:
        return None
    parked = _unseal(sealed, request.COOKIES.get(REVEALED_COOKIE))
    if parked is None:
        messages.warning(
            request,
            "The secret can no longer be shown here (it is shown once, in the "
            "browser that asked for it). Use Reveal secret to see it again.",
        )
        return None
    revealed = _secrets(parked["hex"])
    if parked.get("previous"):
        revealed["previous"] = _secrets(parked["previous"])
    return revealed


def _secrets(hex_secret: str) -> dict:
    """A secret in both forms the receiver libraries want (D25)."""
    return {"hex": hex_secret, "whsec": standard_secret(hex_secret)}
