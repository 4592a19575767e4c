"""Partner provisioning (spec §12.1: staff create partners; no self-signup)."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction

from .keys import api_key_create
from .models import Partner, PartnerUser


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
    """A portal login for ``partner``; the e-mail is the username (unique)."""
    user_model = get_user_model()
    email = user_model.objects.normalize_email(email).lower()
    if user_model.objects.filter(username=email).exists():
        raise ValueError(f"a user with e-mail {email} already exists")
    user = user_model.objects.create_user(
        username=email, email=email, password=password
    )
    return PartnerUser.objects.create(user=user, partner=partner)
