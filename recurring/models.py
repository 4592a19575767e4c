"""Recurring plans and their charges (spec §10, D29, D35)."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone

from jopay_project.tenancy import TenantModel


class Plan(TenantModel):
    """A fixed fiat amount charged to one customer every day, week or month.

    The schedule is ``anchor_at`` + n periods (``recurring.schedule``);
    ``next_charge_at`` is the slot the charging job picks up next and is null
    whenever the plan is not active (paused, cancelled, completed).
    """

    class Status(models.TextChoices):
        ACTIVE = "active"
        PAUSED = "paused"
        CANCELLED = "cancelled"
        COMPLETED = "completed"

    class Collection(models.TextChoices):
        INVOICE = "invoice"
        PULL = "pull"

    class Frequency(models.TextChoices):  # recurring.schedule does the date math
        DAILY = "daily"
        WEEKLY = "weekly"
        MONTHLY = "monthly"

    TERMINAL_STATUSES = (Status.CANCELLED, Status.COMPLETED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    merchant = models.ForeignKey(
        "merchants.Merchant", on_delete=models.PROTECT, related_name="plans"
    )
    # Money: minor units of fiat_code, the merchant's effective currency at creation.
    fiat_amount_int = models.PositiveIntegerField()
    fiat_code = models.CharField(max_length=3)
    frequency = models.CharField(max_length=8, choices=Frequency.choices)
    customer_wallet = models.CharField(max_length=42)
    customer_email = models.CharField(max_length=254, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    max_charges = models.PositiveIntegerField(
        null=True, blank=True, help_text="Null = unlimited."
    )
    collection = models.CharField(
        max_length=8, choices=Collection.choices, default=Collection.INVOICE
    )
    chain_id = models.BigIntegerField(null=True, blank=True)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.ACTIVE
    )
    anchor_at = models.DateTimeField()
    next_charge_at = models.DateTimeField(null=True, blank=True)
    charges_count = models.PositiveIntegerField(default=0)
    consecutive_failures = models.PositiveIntegerField(default=0)
    last_failure_code = models.CharField(max_length=64, blank=True)
    # D17: idempotent create, scoped to partner + mode.
    idempotency_key = models.CharField(max_length=64, null=True, blank=True)
    idempotency_hash = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    # Set by a pause that found a slot due and not yet charged: that slot is
    # still owed at the resume (D29). Skipped slots leave no trace, so this
    # cannot be told from ``paused_at`` and the charges alone.
    owed_due_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "test_mode", "idempotency_key"],
                condition=models.Q(idempotency_key__isnull=False),
                name="plan_idempotency_key_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(fiat_amount_int__gte=1), name="plan_amount_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(max_charges__isnull=True)
                | models.Q(max_charges__gte=1),
                name="plan_max_charges_positive",
            ),
            # The job only ever looks at active plans with a due time.
            models.CheckConstraint(
                condition=~models.Q(status="active")
                | models.Q(next_charge_at__isnull=False),
                name="plan_active_has_next_charge",
            ),
        ]
        indexes = [
            models.Index(
                fields=["partner", "test_mode", "-created_at", "-id"],
                name="plan_tenant_keyset",
            ),
            # The charging job: due active plans, oldest first (spec §10.4).
            models.Index(
                fields=["next_charge_at", "id"],
                name="plan_due",
                condition=models.Q(status="active"),
            ),
            # The admin's search by customer wallet (jopay_project.admin_search).
            models.Index(fields=["customer_wallet"], name="plan_customer_wallet"),
        ]

    def __str__(self) -> str:
        return (
            f"{self.fiat_amount_int} {self.fiat_code} {self.frequency} ({self.status})"
        )

    @property
    def is_terminated(self) -> bool:
        return self.status in self.TERMINAL_STATUSES


class Charge(models.Model):
    """One slot of a plan: the payment request it produced, or why it could not.

    ``UniqueConstraint(plan, slot)`` makes a second run of the job, or two
    workers at once, harmless: a slot is charged at most once.
    """

    class Status(models.TextChoices):
        CREATED = "created"
        FAILED = "failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    plan = models.ForeignKey(Plan, on_delete=models.CASCADE, related_name="charges")
    slot = models.PositiveIntegerField(help_text="0-based; charge_number = slot + 1.")
    due_at = models.DateTimeField()
    payment_request = models.OneToOneField(
        "payments.PaymentRequest",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="recurring_charge",
    )
    status = models.CharField(max_length=8, choices=Status.choices)
    failure_code = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["plan", "-slot"]
        constraints = [
            models.UniqueConstraint(
                fields=["plan", "slot"], name="charge_plan_slot_unique"
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(status="created", payment_request__isnull=False)
                    | models.Q(status="failed", payment_request__isnull=True)
                ),
                name="charge_status_matches_request",
            ),
        ]

    def __str__(self) -> str:
        return f"charge #{self.charge_number} of {self.plan_id} ({self.status})"

    @property
    def charge_number(self) -> int:
        """1-based period number on the wire (D35); skipped periods leave gaps."""
        return self.slot + 1
