"""Partner provisioning (spec §12.1: staff create partners; no self-signup)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django_ratelimit.core import rate_re

from jopay_project import ratelimits

from .audit import audit_record
from .keys import api_key_create
from .models import Partner, PartnerUser

# The portal's sign-in form (and its password page) take at most this many
# characters: a longer password could be set, but never typed in.
PORTAL_PASSWORD_MAX_LENGTH = 256


@dataclass
class ProvisionedPartner:
    partner: Partner
    live_key: str
    test_key: str


@transaction.atomic
def partner_create(
    *,
    slug: str,
    name: str,
    currency: str = "EUR",
    currencies: list[str] | None = None,
    min_amount: int | None = None,
    max_amount: int | None = None,
) -> ProvisionedPartner:
    """Create a partner with one unrestricted live key and one test key (D31).

    Raises ``django.core.exceptions.ValidationError`` for a bad slug, unknown
    currencies, a default currency that is not enabled, or max < min.
    """
    partner = Partner(
        slug=slug,
        name=name,
        default_currency=currency,
        enabled_currencies=list(dict.fromkeys(currencies or [currency])),
    )
    if min_amount is not None:
        partner.min_fiat_per_request = min_amount
    partner.max_fiat_per_request = max_amount
    partner.full_clean()
    partner.save()
    _, live = api_key_create(partner=partner, test_mode=False, name="initial live key")
    _, test = api_key_create(partner=partner, test_mode=True, name="initial test key")
    return ProvisionedPartner(partner=partner, live_key=live, test_key=test)


@transaction.atomic
def partner_user_create(*, partner: Partner, email: str, password: str) -> PartnerUser:
    """A portal login for ``partner``; the e-mail is the username (unique).

    Raises ``ValueError`` for an e-mail longer than the username column or one
    that already has a user, and for a password longer than the portal's
    sign-in form takes (``PORTAL_PASSWORD_MAX_LENGTH``). The new login is in
    the partner's audit trail (``portal_user.added``, as when staff link a
    user in the admin): it sees the webhook secret and creates API keys.
    """
    user_model = get_user_model()
    email = user_model.objects.normalize_email(email).lower()
    # D31: checked here, not left to the database, whose DataError was a
    # traceback out of create_partner_user instead of its one-line error.
    limit = min(
        user_model._meta.get_field(name).max_length for name in ("username", "email")
    )
    if len(email) > limit:
        raise ValueError(f"an e-mail address has at most {limit} characters")
    if len(password) > PORTAL_PASSWORD_MAX_LENGTH:
        raise ValueError(
            f"a portal password has at most {PORTAL_PASSWORD_MAX_LENGTH} characters"
            " (the sign-in form takes no more)"
        )
    if user_model.objects.filter(username=email).exists():
        raise ValueError(f"a user with e-mail {email} already exists")
    user = user_model.objects.create_user(
        username=email, email=email, password=password
    )
    link = PartnerUser.objects.create(user=user, partner=partner)
    audit_record(partner=partner, action="portal_user.added", target=email)
    return link


# The groups ``JoPayApiView`` reads from ``Partner.rate_limit_overrides``: the
# per-API-key limits. The pay page and portal login count per IP or request,
# where a partner override is never consulted.
# The per-key API groups, and the per-merchant plan budget (recurring.limits).
OVERRIDABLE_RATE_GROUPS: frozenset[str] = frozenset(
    group
    for group, limit in ratelimits.LIMITS.items()
    if limit.per in ("API key", "merchant")
)


MAX_RATE_WINDOW_SECONDS = 366 * 86_400


def _rate_error(group: str, rate: Any) -> str | None:
    """Why ``rate`` cannot be the limit of ``group`` at run time, or None if it can."""
    if group not in OVERRIDABLE_RATE_GROUPS:
        return f"{group!r} is not an API endpoint group (or plans.merchant)"
    # The limiter's own grammar and parser, applied to the whole string: its
    # parser only matches a prefix, so "120/M" or "120/x" would silently mean
    # 120 per second, and a rate with a dot would be read as an import path.
    if not isinstance(rate, str) or not rate_re.fullmatch(rate):
        return f'{group!r}: {rate!r} is not a rate such as "120/m" or "10/5m"'
    _, period = ratelimits.parse_rate(rate)
    if period <= 0:
        return f"{group!r}: {rate!r} has an empty window"
    if period > MAX_RATE_WINDOW_SECONDS:
        # "10/99999999999999999999d": Redis refused the counter's expiry, so the
        # limiter failed open and answered without any X-RateLimit header (D27).
        return f"{group!r}: {rate!r} has a window longer than 366 days"
    return None


def rate_limit_overrides_clean(value: Any) -> dict[str, str]:
    """``Partner.rate_limit_overrides`` as the API's limiter can use it (D27).

    An object mapping API endpoint groups (``requests.create`` …) to rates the
    limiter parses (``"120/m"``, ``"10/5m"``, ``"1000/h"``); empty or ``None``
    is ``{}``. Anything else (a list, a bare number, ``"120 per minute"``, an
    unknown group) raises ``ValidationError`` naming every bad entry, since the
    API would answer every call of the partner with a 500 otherwise.
    """
    if value in (None, "", {}):
        return {}
    if not isinstance(value, dict):
        raise ValidationError(
            'Must be an object of endpoint group to rate, e.g. {"requests.create": '
            '"120/m"}.'
        )
    errors = [
        error
        for group, rate in value.items()
        if (error := _rate_error(group, rate)) is not None
    ]
    if set(value) - OVERRIDABLE_RATE_GROUPS:
        errors.append("Known groups: " + ", ".join(sorted(OVERRIDABLE_RATE_GROUPS)))
    if errors:
        raise ValidationError(errors)
    return dict(value)
