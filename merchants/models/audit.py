"""The audit log of changes to a partner's account."""

from __future__ import annotations

from django.db import models
from django.db.models.functions import Upper
from django.utils import timezone

from .partners import Partner


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
