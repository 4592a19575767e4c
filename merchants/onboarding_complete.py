"""The merchant's own onboarding page finishing (D28): wallet and terms.

Keyword-only, one transaction, nothing half-written (as ``merchants.services``).
"""

from __future__ import annotations

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from jopay_project.errors import ErrorCode, JoPayError

from .addresses import receiving_address_validate
from .audit import audit_record
from .models import Merchant
from .onboarding_links import onboarding_token_hash, onboarding_token_well_formed


@transaction.atomic
def merchant_onboarding_complete(
    *, token: str, wallet_address: str, terms_accepted: bool
) -> Merchant:
    """Finish onboarding through the link's ``token``; the link is burnt.

    Locks the merchant row, so a double submit applies once: the second finds
    the token gone and gets ``not_found``, as do unknown and expired tokens.
    Raises ``invalid_wallet_address`` for a bad address and ``invalid_request``
    (``field: "terms"``) when the terms were not accepted; nothing is written then.
    """
    now = timezone.now()
    merchant = (
        (
            # of=self: the partner row joined for is_active stays unlocked.
            Merchant.objects.select_for_update(of=("self",))
            .filter(
                onboarding_token_hash=onboarding_token_hash(token),
                onboarding_status=Merchant.OnboardingStatus.INCOMPLETE,
                onboarding_token_expires_at__gt=now,
                # As merchant_for_onboarding_token: not while disabled.
                disabled=False,
                partner__is_active=True,
            )
            .first()
        )
        if onboarding_token_well_formed(token)
        else None
    )
    if merchant is None:
        raise JoPayError(ErrorCode.NOT_FOUND)
    receiving_address_validate(  # D28: not zero, not a USDC contract
        address=wallet_address, code=ErrorCode.INVALID_WALLET_ADDRESS
    )
    if terms_accepted is not True:
        raise JoPayError(ErrorCode.INVALID_REQUEST, field="terms")
    merchant.wallet_address = wallet_address
    merchant.wallet_type = Merchant.WalletType.EXTERNAL
    merchant.terms_accepted_at = now
    merchant.terms_version = settings.JOPAY_TERMS_VERSION
    merchant.onboarding_status = Merchant.OnboardingStatus.COMPLETE
    merchant.onboarding_token_hash = ""
    merchant.onboarding_token_expires_at = None
    audit_record(
        partner=merchant.partner,
        test_mode=merchant.test_mode,
        action="merchant.onboarded",
        target=merchant.pk,
        details={
            "wallet_address": wallet_address,
            "terms_version": settings.JOPAY_TERMS_VERSION,
        },
    )
    merchant.save(
        update_fields=[
            "wallet_address",
            "wallet_type",
            "terms_accepted_at",
            "terms_version",
            "onboarding_status",
            "onboarding_token_hash",
            "onboarding_token_expires_at",
            "updated_at",
        ]
    )
    return merchant
