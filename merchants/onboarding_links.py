"""Onboarding links (D28, D35): single use, 7 days, only a hash stored.

The token is derived (an HMAC of the merchant id and the link's expiry), not
stored, so the API can show the same URL again while it is valid, and a new
one once it was used or has expired.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from .models import Merchant

ONBOARDING_LINK_LIFETIME = timedelta(days=7)  # D28, D35
_TOKEN_SALT = "jopay.merchants.onboarding-link"  # noqa: S105 - an HMAC salt
_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{43}\Z")


@dataclass(frozen=True)
class OnboardingLink:
    url: str
    expires_at: datetime


def onboarding_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def onboarding_token_well_formed(token: object) -> bool:
    """Our tokens are 43 base64url characters (an unpadded SHA-256 HMAC)."""
    return isinstance(token, str) and bool(_TOKEN_RE.match(token))


def _onboarding_token(
    merchant: Merchant, expires_at: datetime, secret: str | None = None
) -> str:
    """The link's secret, derived rather than stored.

    Only its SHA-256 is kept (a database dump opens no onboarding page), yet a
    GET can show the same URL again while it is valid: the token is an HMAC,
    under SECRET_KEY, of the merchant id and the link's expiry instant (unique
    per issue, to the microsecond). Without SECRET_KEY it is as unguessable as a
    random 256-bit token.
    """
    instant = expires_at.astimezone(UTC).strftime("%Y%m%dT%H%M%S.%f")
    mac = salted_hmac(
        _TOKEN_SALT, f"{merchant.pk}:{instant}", secret=secret, algorithm="sha256"
    ).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def _onboarding_url(token: str) -> str:
    return f"{settings.JOPAY_PUBLIC_BASE_URL.rstrip('/')}/onboard/{token}/"


def _current_link(merchant: Merchant, now: datetime) -> OnboardingLink | None:
    """The live link, or None if it was used, expired or cannot be rebuilt."""
    expires_at = merchant.onboarding_token_expires_at
    if not merchant.onboarding_token_hash or expires_at is None or expires_at <= now:
        return None
    # Issued under SECRET_KEY or, after a key rotation, under one of
    # SECRET_KEY_FALLBACKS: the link the partner already sent the merchant
    # still opens (the page looks it up by its hash), so the API shows that
    # one instead of replacing it. Under none of them it cannot be rebuilt,
    # and a fresh link replaces it.
    for secret in (settings.SECRET_KEY, *settings.SECRET_KEY_FALLBACKS):
        token = _onboarding_token(merchant, expires_at, secret)
        if constant_time_compare(
            onboarding_token_hash(token), merchant.onboarding_token_hash
        ):
            return OnboardingLink(url=_onboarding_url(token), expires_at=expires_at)
    return None


def issue_link_fields(merchant: Merchant, now: datetime) -> None:
    """Set a new link's hash and expiry on the (unsaved) instance."""
    expires_at = now + ONBOARDING_LINK_LIFETIME
    merchant.onboarding_token_expires_at = expires_at
    merchant.onboarding_token_hash = onboarding_token_hash(
        _onboarding_token(merchant, expires_at)
    )


def merchant_onboarding_link(*, merchant: Merchant) -> OnboardingLink | None:
    """The link to show for ``merchant``: None once onboarding is complete.

    While incomplete (and not disabled), returns the current link if it is
    still valid and unused, else issues a fresh one (D35: any GET after the
    link was used or expired shows a new one). Concurrent readers agree: the
    new link is written with a conditional UPDATE on the old hash and expiry,
    and a loser re-reads the winner's link instead of writing its own.
    ``merchant`` is refreshed in place.
    """
    if merchant.onboarding_status != Merchant.OnboardingStatus.INCOMPLETE:
        return None
    if merchant.disabled:
        return None  # no link to hand out while disabled; it works again after
    now = timezone.now()
    link = _current_link(merchant, now)
    if link is not None:
        return link
    old_hash = merchant.onboarding_token_hash
    old_expiry = merchant.onboarding_token_expires_at
    issue_link_fields(merchant, now)
    updated = Merchant.objects.filter(
        pk=merchant.pk,
        onboarding_status=Merchant.OnboardingStatus.INCOMPLETE,
        onboarding_token_hash=old_hash,
        onboarding_token_expires_at=old_expiry,
    ).update(
        onboarding_token_hash=merchant.onboarding_token_hash,
        onboarding_token_expires_at=merchant.onboarding_token_expires_at,
        updated_at=now,
    )
    if updated:
        return _current_link(merchant, now)
    # Someone else renewed it (or completed onboarding) first: show theirs.
    merchant.refresh_from_db()
    if merchant.onboarding_status != Merchant.OnboardingStatus.INCOMPLETE:
        return None
    return _current_link(merchant, now)
