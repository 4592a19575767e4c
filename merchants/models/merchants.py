"""Merchants: the businesses a partner takes payments for (D28)."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone

from jopay_project.tenancy import TenantModel

from .partners import CURRENCY_CHOICES

ZERO_ADDRESS = "0x" + "0" * 40  # no key holds it; USDC refuses transfers to it


class Merchant(TenantModel):
    """A business receiving USDC in its own wallet; belongs to one partner and mode."""

    class OnboardingStatus(models.TextChoices):
        INCOMPLETE = "incomplete"
        COMPLETE = "complete"

    class AccountType(models.TextChoices):
        BUSINESS = "business"
        INDIVIDUAL = "individual"

    class WalletType(models.TextChoices):
        EMBEDDED = "embedded"
        EXTERNAL = "external"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.CharField(max_length=254, blank=True)
    display_name = models.CharField(max_length=120, blank=True)
    business_name = models.CharField(max_length=120, blank=True)
    country = models.CharField(max_length=2, blank=True)
    phone = models.CharField(max_length=32, blank=True)
    website = models.CharField(max_length=200, blank=True)
    instagram = models.CharField(max_length=200, blank=True)
    industry = models.CharField(max_length=80, blank=True)
    display_currency = models.CharField(
        max_length=3, blank=True, choices=CURRENCY_CHOICES
    )
    account_type = models.CharField(
        max_length=16, choices=AccountType.choices, default=AccountType.BUSINESS
    )
    onboarding_status = models.CharField(
        max_length=16,
        choices=OnboardingStatus.choices,
        default=OnboardingStatus.INCOMPLETE,
    )
    wallet_address = models.CharField(max_length=42, blank=True)
    wallet_type = models.CharField(
        max_length=16, choices=WalletType.choices, default=WalletType.EXTERNAL
    )
    withdraw_address = models.CharField(max_length=42, blank=True)
    auto_forward = models.BooleanField(default=False)
    disabled = models.BooleanField(default=False)
    terms_accepted_at = models.DateTimeField(null=True, blank=True)
    terms_version = models.CharField(  # which terms
        max_length=40, blank=True, default="", db_default=""
    )
    # Onboarding link (D28, D35): single use, 7 days; only a hash is stored.
    onboarding_token_hash = models.CharField(max_length=64, blank=True, db_index=True)
    onboarding_token_expires_at = models.DateTimeField(null=True, blank=True)
    # The onboarding e-mail (spec §5.1, merchants.emails): owed from the create
    # (never to merchants made before sending was on), when it went out, and
    # failed tries (it is given up after EMAIL_MAX_TRIES).
    onboarding_email_due = models.BooleanField(default=False, db_default=False)
    onboarding_email_sent_at = models.DateTimeField(null=True, blank=True)
    onboarding_email_tries = models.PositiveSmallIntegerField(default=0, db_default=0)
    # D17: idempotent create.
    idempotency_key = models.CharField(max_length=64, null=True, blank=True)
    idempotency_hash = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "test_mode", "idempotency_key"],
                condition=models.Q(idempotency_key__isnull=False),
                name="merchant_idempotency_key_unique",
            ),
        ]
        indexes = [
            models.Index(
                fields=["partner", "test_mode", "-created_at", "-id"],
                name="merchant_tenant_keyset",
            ),
            models.Index(fields=["wallet_address"], name="merchant_wallet"),
        ]

    def __str__(self) -> str:
        return self.business_name or self.display_name or str(self.id)

    @property
    def name(self) -> str:
        return self.business_name or self.display_name or "Merchant"

    @property
    def is_ready(self) -> bool:
        """Can take payment requests (D28).

        Not with the zero address as its wallet: a row stored before the
        validators refused it would take requests nobody can ever pay.
        """
        return (
            not self.disabled
            and self.wallet_address not in ("", ZERO_ADDRESS)
            and self.onboarding_status == self.OnboardingStatus.COMPLETE
        )

    def effective_currency(self) -> str:
        """D12: the merchant's display currency, else the partner's default."""
        return self.display_currency or self.partner.default_currency
