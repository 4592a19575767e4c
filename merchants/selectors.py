"""Merchant reads. API code reaches rows only through the tenant (D10)."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet
from django.utils import timezone

from jopay_project.errors import ErrorCode, JoPayError
from jopay_project.tenancy import Tenant

from .models import Merchant
from .onboarding_links import onboarding_token_hash, onboarding_token_well_formed


def merchant_get(*, tenant: Tenant, merchant_id: uuid.UUID) -> Merchant:
    """The tenant's merchant, else ``not_found`` (foreign, other-mode, missing)."""
    merchant = (
        Merchant.objects.for_tenant(tenant)
        .select_related("partner")
        .filter(pk=merchant_id)
        .first()
    )
    if merchant is None:
        raise JoPayError(ErrorCode.NOT_FOUND)
    return merchant


def merchant_idempotency_key_used(*, tenant: Tenant, idempotency_key: str) -> bool:
    """A merchant of the tenant was created with this key (D17)."""
    return (
        Merchant.objects.for_tenant(tenant)
        .filter(idempotency_key=idempotency_key)
        .exists()
    )


def merchant_list(
    *,
    tenant: Tenant,
    onboarding_status: str | None = None,
    disabled: bool | None = None,
) -> QuerySet[Merchant]:
    """The tenant's merchants, optionally filtered; order is the pager's business."""
    qs = Merchant.objects.for_tenant(tenant).select_related("partner")
    if onboarding_status is not None:
        qs = qs.filter(onboarding_status=onboarding_status)
    if disabled is not None:
        qs = qs.filter(disabled=disabled)
    return qs


def merchant_for_onboarding_token(*, token: str) -> Merchant | None:
    """The incomplete merchant whose live (unused, unexpired) link is ``token``.

    Not a disabled merchant's, nor an inactive partner's: disabling is how a
    fraud report stops a merchant, and it must not still register a wallet.
    """
    if not onboarding_token_well_formed(token):
        return None
    return (
        Merchant.objects.select_related("partner")
        .filter(
            onboarding_token_hash=onboarding_token_hash(token),
            onboarding_status=Merchant.OnboardingStatus.INCOMPLETE,
            onboarding_token_expires_at__gt=timezone.now(),
            disabled=False,
            partner__is_active=True,
        )
        .first()
    )
