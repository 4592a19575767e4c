"""Payment requests: a fiat amount a customer pays in USDC on a hosted page."""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.db import models
from django.db.models import F
from django.db.models.functions import Length, Lower
from django.db.models.lookups import Exact
from django.utils import timezone

from jopay_project.fields import ExactDecimalField
from jopay_project.tenancy import TenantModel
from payments.money import format_minor, is_supported

# D20: proofs are accepted, and late transfers verify, until expires_at + grace.
PROOF_GRACE = timedelta(minutes=10)
TAG_SPAN = 1000  # D15: the last three digits of usdc_micro (below 0.001 USDC)


class PaymentRequest(TenantModel):
    class Status(models.TextChoices):
        REQUESTED = "requested"
        OPENED = "opened"
        EXPIRED = "expired"
        CANCELLED = "cancelled"
        PAID = "paid"

    class ProofStatus(models.TextChoices):
        NONE = "none"
        ATTACHED = "attached"
        VERIFIED = "verified"
        MISMATCH = "mismatch"

    class PaymentMode(models.TextChoices):
        POS = "pos"
        INVOICE = "invoice"

    class ProofSource(models.TextChoices):
        CUSTOMER = "customer"
        MERCHANT = "merchant"
        ADMIN = "admin"
        TRAILS_ON_CHAIN = "trails_on_chain"

    class MismatchReason(models.TextChoices):
        TX_FAILED = "tx_failed"
        WRONG_TOKEN = "wrong_token"  # noqa: S105 (a reason, not a secret)
        WRONG_RECIPIENT = "wrong_recipient"
        UNDERPAID = "underpaid"
        LATE = "late"
        NOT_FOUND_AFTER_TIMEOUT = "not_found_after_timeout"

    OPEN_STATUSES = (Status.REQUESTED, Status.OPENED)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # No index of its own: ``request_tenant_keyset`` starts with it, and on
    # this table every index costs each create. That one pays for
    # ``request_recent`` (the staff admin's newest-first list).
    partner = models.ForeignKey(
        "merchants.Partner", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    merchant = models.ForeignKey(
        "merchants.Merchant", on_delete=models.PROTECT, related_name="payment_requests"
    )
    reference = models.CharField(max_length=12, unique=True)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.REQUESTED
    )
    proof_status = models.CharField(
        max_length=16, choices=ProofStatus.choices, default=ProofStatus.NONE
    )
    payment_mode = models.CharField(
        max_length=16, choices=PaymentMode.choices, default=PaymentMode.POS
    )
    # Money (integers only): fiat minor units and micro-USDC, the rate that linked them.
    fiat_int = models.PositiveIntegerField()
    fiat_code = models.CharField(max_length=3)
    usdc_micro = models.BigIntegerField()
    # D14: 18 places, exact on SQLite too (D30).
    fx_rate = ExactDecimalField(max_digits=38, decimal_places=18)
    fx_source = models.CharField(max_length=40)
    memo = models.CharField(max_length=500, blank=True)
    metadata = models.JSONField(default=dict, blank=True)
    return_url = models.URLField(max_length=2000, blank=True)
    # Where the payer sends USDC (D15, spec §13.2): the merchant wallet at creation.
    receiving_address = models.CharField(max_length=42)
    expires_at = models.DateTimeField()
    opened_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    expired_at = models.DateTimeField(null=True, blank=True)
    # Proof (D20, D21, D23): null until a proof fixes them.
    chain_id = models.BigIntegerField(null=True, blank=True)
    tx_hash = models.CharField(max_length=66, null=True, blank=True)
    payer_address = models.CharField(max_length=42, null=True, blank=True)
    proof_source = models.CharField(
        max_length=20, choices=ProofSource.choices, null=True, blank=True
    )
    proof_attached_at = models.DateTimeField(null=True, blank=True)
    # The chain watcher's cursor on each chain ("<chain id>": block) when the
    # proof was attached: the watcher passes the request over from there on,
    # so a mismatch rescans from there, not from the window's start (D20/D21).
    watch_cursors = models.JSONField(null=True, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    mismatch_reason = models.CharField(
        max_length=32, choices=MismatchReason.choices, null=True, blank=True
    )
    overpaid_micro = models.BigIntegerField(default=0)
    # On-chain evidence of the verified transfer (D23): block_number, block_hash,
    # log_index, token_address, value_micro, confirmations.
    evidence = models.JSONField(null=True, blank=True)
    verify_attempts = models.PositiveIntegerField(default=0)
    # RPC failures since the chain last answered a check of this proof: the
    # D20 backoff counts these, not every check (``checks.record_rpc_failure``).
    # A plain integer: a CHECK (>= 0) on the new column read the whole table.
    rpc_failures = models.IntegerField(default=0, db_default=0)
    next_verify_at = models.DateTimeField(null=True, blank=True)
    # D17: stored on the row under a unique constraint; hash of the normalised body.
    idempotency_key = models.CharField(max_length=64, null=True, blank=True)
    idempotency_hash = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "test_mode", "idempotency_key"],
                condition=models.Q(idempotency_key__isnull=False),
                name="request_idempotency_key_unique",
            ),
            # D20: a tx hash proves at most one request at a time, per chain.
            models.UniqueConstraint(
                fields=["chain_id", "tx_hash"],
                condition=models.Q(proof_status__in=["attached", "verified"]),
                name="request_proof_tx_unique",
            ),
            models.CheckConstraint(
                condition=models.Q(usdc_micro__gt=0), name="request_usdc_positive"
            ),
            models.CheckConstraint(
                condition=models.Q(fiat_int__gt=0), name="request_fiat_positive"
            ),
            # D20: request_proof_tx_unique compares hashes as text, so it
            # holds only in the one spelling every writer uses
            # (normalize_tx_hash, the watcher's logs): "0xAB…" beside "0xab…"
            # would be two proofs of one payment.
            models.CheckConstraint(
                condition=models.Q(tx_hash__isnull=True)
                | models.Q(Exact(Length("tx_hash"), 66), tx_hash=Lower("tx_hash")),
                name="request_tx_hash_lower",
            ),
            models.CheckConstraint(
                condition=models.Q(overpaid_micro__gte=0),
                name="request_overpaid_not_negative",
            ),
        ]
        indexes = [
            models.Index(
                fields=["partner", "test_mode", "-created_at", "-id"],
                name="request_tenant_keyset",
            ),
            models.Index(
                fields=["partner", "test_mode", "merchant", "-created_at", "-id"],
                name="request_tenant_merchant",
            ),
            # The chain watcher's match by (address, exact amount).
            models.Index(
                fields=["receiving_address", "usdc_micro"], name="request_amount"
            ),
            # D15's tag search (tags._PICK): a wallet's rows at one base
            # amount still in use, not its history nor its other prices.
            models.Index(
                F("receiving_address"),
                F("usdc_micro") - F("usdc_micro") % TAG_SPAN,
                F("expires_at"),
                name="request_base_expiry",
            ),
            # ... and its open rows at a price, whatever their expiry: a small
            # index, since requests leave it when they close.
            models.Index(
                F("receiving_address"),
                F("usdc_micro") - F("usdc_micro") % TAG_SPAN,
                condition=models.Q(status__in=["requested", "opened"]),
                name="request_open_amount",
            ),
            models.Index(fields=["status", "expires_at"], name="request_expiry"),
            # The admin's unfiltered list, newest first: without it, every page
            # sorted the whole table (1.3 s at 1 M rows).
            models.Index(fields=["-created_at", "-id"], name="request_recent"),
            models.Index(
                fields=["proof_status", "next_verify_at"], name="request_verify_due"
            ),
            # The portal dashboard (merchants.portal.dashboard): a tenant's
            # verified requests by verified_at, for its 7/30-day totals, chart
            # and latest payments. Without it each of those four read every
            # verified request of every partner (request_verify_due) and
            # sorted the tenant's: 90 ms apiece at 200 k verified rows, growing
            # with the platform's history. Partial: creates never write it.
            models.Index(
                fields=["partner", "test_mode", "-verified_at", "-id"],
                condition=models.Q(proof_status="verified"),
                name="request_tenant_verified",
            ),
            # The admin's search by tx hash, whatever the chain or proof state:
            # request_proof_tx_unique starts with chain_id and holds attached
            # and verified proofs only. Partial: a request without a proof
            # (most creates) adds no entry.
            models.Index(
                fields=["tx_hash"],
                condition=models.Q(tx_hash__isnull=False),
                name="request_tx_hash",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.reference} {self.fiat_text}"

    @property
    def fiat_text(self) -> str:
        """``"25.00 EUR"``: the amount in the currency's units (admin titles,
        confirmations, LogEntry reprs; "2500 EUR" was read as 2500 euros).
        A code outside the 28 (a hand-written row) keeps the stored integer:
        a title must never raise."""
        known = is_supported(self.fiat_code) and isinstance(self.fiat_int, int)
        amount = format_minor(self.fiat_int, self.fiat_code) if known else self.fiat_int
        return f"{amount} {self.fiat_code}"

    @property
    def is_open(self) -> bool:
        return self.status in self.OPEN_STATUSES

    @property
    def proof_deadline(self):
        return self.expires_at + PROOF_GRACE

    @property
    def received_micro(self) -> int:
        """What the verified transfer sent: more than ``usdc_micro`` when
        overpaid (D20; the merchant refunds the difference, spec §13.1)."""
        value = (self.evidence or {}).get("value_micro")
        return int(value) if value is not None else self.usdc_micro
