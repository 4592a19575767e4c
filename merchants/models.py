"""Partners (the top-level tenant), their portal users, API keys and merchants."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Upper
from django.utils import timezone

from jopay_project.tenancy import TenantModel
from payments.money import SUPPORTED_CURRENCIES

from .partner_rules import partner_settings_errors
from .validation import shown_text_problem

CURRENCY_CHOICES = [(code, code) for code in SUPPORTED_CURRENCIES]
ZERO_ADDRESS = "0x" + "0" * 40  # no key holds it; USDC refuses transfers to it

# spec §1.2: lowercase letters and hyphens only (no leading/trailing/double hyphen).
slug_validator = RegexValidator(
    r"^[a-z]+(?:-[a-z]+)*\Z",  # \Z: "$" also matches before a final "\n"
    "Use lowercase letters and single hyphens, e.g. acme-payments.",
)


def _default_enabled_currencies() -> list[str]:
    return ["EUR"]


class Partner(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    slug = models.CharField(
        max_length=63,
        unique=True,
        validators=[slug_validator],
        help_text="Lowercase letters and hyphens; immutable.",
    )
    name = models.CharField(max_length=120)
    default_currency = models.CharField(
        max_length=3, choices=CURRENCY_CHOICES, default="EUR"
    )
    enabled_currencies = models.JSONField(default=_default_enabled_currencies)
    # Minor units of the default currency (D35); None = no limit beyond int32.
    min_fiat_per_request = models.PositiveIntegerField(default=100)
    max_fiat_per_request = models.PositiveIntegerField(null=True, blank=True)
    # D11: per-partner defaults for the two payment modes.
    pos_expiry_seconds = models.PositiveIntegerField(default=3600)
    invoice_expiry_seconds = models.PositiveIntegerField(default=604800)
    # Branding for the pay page and receipts (spec §12.2).
    logo_url = models.URLField(blank=True)
    primary_color = models.CharField(max_length=7, default="#2563EB")
    secondary_color = models.CharField(max_length=7, default="#0F172A")
    # Staff-set per-partner rate-limit overrides: {"requests.create": "120/m"}.
    rate_limit_overrides = models.JSONField(default=dict, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.slug

    def clean(self) -> None:
        errors: dict[str, ValidationError | str] = {}
        if self.pk and not self._state.adding:
            old = (
                Partner.objects.filter(pk=self.pk)
                .values_list("slug", flat=True)
                .first()
            )
            if old is not None and old != self.slug:
                errors["slug"] = "A partner's slug cannot change."
        # The same bounds as the portal's settings page (D11–D13): the admin
        # cannot store what the portal would refuse.
        errors.update(
            partner_settings_errors(
                enabled_currencies=self.enabled_currencies,
                default_currency=self.default_currency,
                min_fiat_per_request=self.min_fiat_per_request,
                max_fiat_per_request=self.max_fiat_per_request,
                pos_expiry_seconds=self.pos_expiry_seconds,
                invoice_expiry_seconds=self.invoice_expiry_seconds,
            )
        )
        problem = shown_text_problem(self.name)
        if problem:
            # D22: the name is on every pay page and receipt, as a merchant's
            # name is, and follows the same rule (the API refuses those).
            errors["name"] = f"A partner's name must not contain {problem}."
        if self.logo_url and not self.logo_url.lower().startswith("https://"):
            # The pages that show it allow images from https: only
            # (JOPAY_CONTENT_SECURITY_POLICY): any other logo is a broken image.
            errors["logo_url"] = "Use an https:// URL: the pay page loads no other."
        for field in ("primary_color", "secondary_color"):
            value = getattr(self, field)
            if not (
                len(value) == 7
                and value.startswith("#")
                and all(c in "0123456789abcdefABCDEF" for c in value[1:])
            ):
                errors[field] = "Use a hex colour like #2563EB."
        if errors:
            raise ValidationError(errors)


class PartnerUser(models.Model):
    """A portal login; belongs to exactly one partner."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="partner_user"
    )
    partner = models.ForeignKey(Partner, on_delete=models.CASCADE, related_name="users")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.user.email} @ {self.partner.slug}"


class ApiKey(models.Model):
    """A bearer key (D6–D8). Only the SHA-256 of the full key is stored."""

    class Scope(models.TextChoices):
        REQUESTS_READ = "requests:read"
        REQUESTS_WRITE = "requests:write"
        MERCHANTS_READ = "merchants:read"
        MERCHANTS_WRITE = "merchants:write"
        RECURRING_READ = "recurring:read"
        RECURRING_WRITE = "recurring:write"
        WEBHOOKS_WRITE = "webhooks:write"
        FX_READ = "fx:read"
        EVENTS_READ = "events:read"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    partner = models.ForeignKey(
        Partner, on_delete=models.CASCADE, related_name="api_keys"
    )
    name = models.CharField(max_length=80, blank=True)
    test_mode = models.BooleanField()
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(
        max_length=12, editable=False, help_text="First 12 characters, for display."
    )
    # None = unrestricted (D7); otherwise a non-empty list of Scope values.
    scopes = models.JSONField(null=True, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name or 'unnamed'})"

    @property
    def mode(self) -> str:
        return "test" if self.test_mode else "live"

    def is_usable(self, now=None) -> bool:
        now = now or timezone.now()
        return self.revoked_at is None and (
            self.expires_at is None or self.expires_at > now
        )

    def has_scope(self, scope: str) -> bool:
        return self.scopes is None or scope in self.scopes


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


class AuditEntry(models.Model):
    """Who changed what in a partner's account (spec §5.1, §8: "audited").

    Written by ``merchants.audit.audit_record`` in the transaction of the
    change it records, so an entry exists exactly when the change does. Never
    updated; the portal shows a partner its own entries, the admin all.
    """

    class ActorKind(models.TextChoices):
        API_KEY = "api_key", "API key"
        PORTAL_USER = "portal_user", "Portal user"
        STAFF = "staff", "JoPay staff"
        OPERATOR = "operator", "Operator command"
        MERCHANT = "merchant", "Merchant (onboarding link)"
        SYSTEM = "system", "JoPay"

    id = models.BigAutoField(primary_key=True)
    # None: a change of JoPay-wide data (the global FX rates).
    partner = models.ForeignKey(
        Partner,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="audit_entries",
        db_index=False,  # audit_partner starts with it
    )
    # None: the change is not of one mode (the webhook endpoint, settings).
    test_mode = models.BooleanField(null=True, blank=True)
    actor_kind = models.CharField(max_length=16, choices=ActorKind.choices)
    actor = models.CharField(max_length=254)  # key prefix, e-mail, username
    action = models.CharField(max_length=40)
    target = models.CharField(max_length=100, blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        # Ids are handed out in commit-ish order: newest first without a sort.
        ordering = ["-id"]
        indexes = [
            models.Index(fields=["partner", "-id"], name="audit_partner"),
            # The admin's search by actor or target, in any case (admin.audit).
            models.Index(Upper("actor"), name="audit_actor_upper"),
            models.Index(Upper("target"), name="audit_target_upper"),
            # The admin's filter by actor kind, newest first (some are rare).
            models.Index(fields=["actor_kind", "-id"], name="audit_actor_kind"),
        ]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.action} by {self.actor}"
