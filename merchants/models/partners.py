"""Partners (the top-level tenant) and their portal users."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models

from payments.money import SUPPORTED_CURRENCIES

from ..partner_rules import partner_settings_errors
from ..validation import shown_text_problem

CURRENCY_CHOICES = [(code, code) for code in SUPPORTED_CURRENCIES]

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
