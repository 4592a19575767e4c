"""Events (the outbox) and their deliveries to the partner's webhook endpoint (D23–D26)."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone

from jopay_project.tenancy import TenantModel


class WebhookEvent(TenantModel):
    """One thing that happened, written in the transaction that made it happen (D24)."""

    class Type(models.TextChoices):
        PROOF_ATTACHED = "payment.proof_attached"
        PROOF_VERIFIED = "payment.proof_verified"
        PROOF_MISMATCH = "payment.proof_mismatch"
        REQUEST_EXPIRED = "request.expired"
        REQUEST_CANCELLED = "request.cancelled"
        RECURRING_CHARGE_CREATED = "recurring.charge_created"
        WEBHOOK_TEST = "webhook.test"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    type = models.CharField(max_length=40, choices=Type.choices)
    # The payment request the event is about (null for webhook.test).
    request_id = models.UUIDField(null=True, blank=True)
    # D23: 1, 2, 3 … per request in the order written; null without a request.
    sequence = models.PositiveIntegerField(null=True, blank=True)
    payload = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["request_id", "sequence"],
                                    condition=models.Q(request_id__isnull=False),
                                    name="event_request_sequence_unique"),
        ]
        indexes = [
            models.Index(fields=["partner", "test_mode", "-created_at", "-id"],
                         name="event_tenant_keyset"),
            models.Index(fields=["request_id", "sequence"], name="event_request"),
        ]

    def __str__(self) -> str:
        return f"{self.type} #{self.sequence or '-'}"
