"""FX rates (D14, D31): fiat units per 1 USDC, per currency, optionally per partner."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from jopay_project.fields import ExactDecimalField


class FxRate(models.Model):
    """A rate for one currency: global (``partner`` null) or a partner's override.

    ``pinned`` rates (``set_fx_rate``, portal, admin: source ``manual``) are never
    overwritten by feeds and never go stale until cleared.
    """

    currency = models.CharField(max_length=3)
    partner = models.ForeignKey(
        "merchants.Partner",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="fx_overrides",
    )
    # Exact on SQLite too (D14: 18 places; D30), numeric(38, 18) on PostgreSQL.
    rate = ExactDecimalField(max_digits=38, decimal_places=18)
    source = models.CharField(max_length=40)
    pinned = models.BooleanField(default=False)
    fetched_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["currency"]
        verbose_name = "FX rate"
        constraints = [
            models.UniqueConstraint(
                fields=["currency"],
                condition=models.Q(partner__isnull=True),
                name="fx_global_currency_unique",
            ),
            models.UniqueConstraint(
                fields=["partner", "currency"],
                condition=models.Q(partner__isnull=False),
                name="fx_partner_currency_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(rate__gt=0), name="fx_rate_positive"
            ),
        ]

    def __str__(self) -> str:
        scope = self.partner.slug if self.partner_id else "global"
        return f"{self.currency} {self.rate} ({self.source}, {scope})"
