"""Events (the outbox) and their deliveries to the partner's endpoint (D23–D26)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

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

    # D36: events are kept 30 days, and the events API lists those (D35).
    KEPT_DAYS = 30

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
            models.UniqueConstraint(
                fields=["request_id", "sequence"],
                condition=models.Q(request_id__isnull=False),
                name="event_request_sequence_unique",
            ),
            # D23: an event about a request has its number (a NULL sequence
            # escapes the unique constraint above, and receivers order by it).
            models.CheckConstraint(
                condition=models.Q(request_id__isnull=True)
                | models.Q(sequence__isnull=False, sequence__gte=1),
                name="event_request_has_sequence",
            ),
        ]
        indexes = [
            models.Index(
                fields=["partner", "test_mode", "-created_at", "-id"],
                name="event_tenant_keyset",
            ),
            models.Index(fields=["request_id", "sequence"], name="event_request"),
            # The admin's type filter, in the list's order: a rare type
            # (cancelled, mismatch) otherwise walks the whole table.
            models.Index(fields=["type", "-created_at", "-id"], name="event_type"),
        ]

    def __str__(self) -> str:
        return f"{self.type} #{self.sequence or '-'}"

    @classmethod
    def kept_since(cls, now: datetime | None = None) -> datetime:
        """Events created before this are past their 30 days (D36): not listed,
        not resent, whether or not the purge has reached them yet."""
        return (now or timezone.now()) - timedelta(days=cls.KEPT_DAYS)


class RequestEventSequence(models.Model):
    """The last ``sequence`` given to a payment request's events (D23).

    Kept apart from the events, which are purged after 30 days (D36): a
    request open for 90 days (D11) must never number an event 1 again, or a
    receiver that drops sequences it has already seen would drop it.
    """

    request_id = models.UUIDField(primary_key=True)
    last = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"{self.request_id} #{self.last}"


class WebhookEndpoint(models.Model):
    """The partner's one webhook endpoint, serving both modes (spec §6.1, D25, D35).

    ``secret`` is 64 lower-case hex characters (256 bits), generated on the
    first enable and returned once by the API; the portal shows it again on
    request (Reveal, after a POST). Never in the admin. During a rotation
    ``previous_secret`` holds the old one and both sign (D25) until the partner
    confirms. ``enabled_at`` is when dispatch was last switched on: events
    written before it are never delivered (no backfill, spec §6.1).
    """

    class DisabledReason(models.TextChoices):
        PARTNER = "disabled_by_partner"
        STAFF = "disabled_by_staff"  # the admin's "Disable webhooks" action
        GONE = "endpoint_gone"  # D24: the receiver answered 410
        FAILING = "failing_too_long"  # D24: no 2xx for 5 days since the first failure

    partner = models.OneToOneField(
        "merchants.Partner", on_delete=models.CASCADE, related_name="webhook_endpoint"
    )
    url = models.CharField(max_length=2000, blank=True)
    secret = models.CharField(max_length=64, blank=True)
    previous_secret = models.CharField(max_length=64, blank=True)
    enabled = models.BooleanField(default=False)  # `webhook_enabled` on the wire
    enabled_at = models.DateTimeField(null=True, blank=True)
    failing_since = models.DateTimeField(null=True, blank=True)
    # While a failing streak runs, the lease of the one attempt in flight to
    # this endpoint (``claims``): a receiver that hangs holds one worker at a
    # time instead of all of them, so other partners' webhooks keep moving.
    probe_until = models.DateTimeField(null=True, blank=True)
    # Since when its 2xx answers take ``JOPAY_WEBHOOK_SLOW_SECONDS`` or longer
    # (cleared by a faster 2xx): a slow endpoint takes one attempt at a time
    # too, through the same lease, so a receiver that answers every POST in
    # 7 s holds one worker, not the pool.
    slow_since = models.DateTimeField(null=True, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(
        max_length=32, choices=DisabledReason.choices, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.url or '(no url)'} ({'on' if self.enabled else 'off'})"

    @property
    def rotation_pending(self) -> bool:
        return bool(self.previous_secret)

    def signing_secrets(self) -> list[str]:
        """Secrets that sign each delivery, new first (D25)."""
        return [s for s in (self.secret, self.previous_secret) if s]


class WebhookDelivery(TenantModel):
    """One event to one endpoint (D24): the outbox row.

    ``id`` is the wire ``delivery_id`` and ``webhook-id``; it stays the same
    across every retry and resend, so a duplicate can only carry the same id.
    ``locked_until`` is the lease a worker takes with a conditional UPDATE
    before it sends; a killed worker's lease simply runs out.
    """

    class State(models.TextChoices):
        PENDING = "pending"
        DELIVERED = "delivered"
        FAILED = "failed"
        ABANDONED = "abandoned"

    class AbandonedReason(models.TextChoices):
        REDIRECT = "redirect_not_followed"  # 3xx (D24: never followed, D26)
        CLIENT_ERROR = "client_error"  # 4xx other than 410/429
        GONE = "endpoint_gone"  # 410
        ENDPOINT_DISABLED = "endpoint_disabled"
        UNSAFE_URL = "unsafe_url"  # D26 send-time check
        EVENT_PURGED = "event_purged"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    event = models.ForeignKey(
        WebhookEvent,
        on_delete=models.SET_NULL,
        null=True,
        related_name="deliveries",
        db_index=False,  # the (event, endpoint) unique index serves it
    )
    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    state = models.CharField(
        max_length=12, choices=State.choices, default=State.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # The worker lease (claimed by conditional UPDATE) and the last time a task
    # was put on the broker for this row (the sweeper's re-enqueue guard).
    locked_until = models.DateTimeField(null=True, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    abandoned_reason = models.CharField(
        max_length=32, choices=AbandonedReason.choices, blank=True
    )
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at", "id"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["event", "endpoint"], name="delivery_event_endpoint_unique"
            ),
        ]
        indexes = [
            # The due query of the sweeper and of endpoint-wide abandons.
            models.Index(
                fields=["next_attempt_at"],
                condition=models.Q(state="pending"),
                name="delivery_due",
            ),
            # An endpoint's pending rows, soonest due first: endpoint-wide
            # abandons, and a failing endpoint's next row (``dispatch``).
            models.Index(
                fields=["endpoint", "next_attempt_at"],
                condition=models.Q(state="pending"),
                name="delivery_pending_endpoint_due",
            ),
            models.Index(fields=["created_at"], name="delivery_created"),
            # The admin's "abandoned reason" filter, in the list's order:
            # abandoned rows are rare, so the filter otherwise walks (and
            # counts) the whole outbox. Only those rows are indexed.
            models.Index(
                fields=["abandoned_reason", "created_at", "id"],
                condition=~models.Q(abandoned_reason=""),
                name="delivery_abandoned",
            ),
            # The admin's state filter, in the list's order: the rows not
            # delivered (pending, failed, abandoned) are the few that
            # operators look for; "delivered" reads delivery_created.
            models.Index(
                fields=["state", "created_at", "id"],
                condition=~models.Q(state="delivered"),
                name="delivery_unsettled",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.id} ({self.state}, {self.attempts} tries)"


class WebhookAttempt(models.Model):
    """One POST of a delivery (D24): status, latency, first 2 KiB of the answer.

    The row is written when the worker claims the delivery, with ``error``
    saying the result is not known yet; the send fills it in. A worker killed
    mid-send therefore still leaves its attempt in the log.
    """

    RESPONSE_BODY_LIMIT = 2048

    delivery = models.ForeignKey(
        WebhookDelivery,
        on_delete=models.CASCADE,
        related_name="attempt_log",
        db_index=False,  # the (delivery, number) unique index serves it
    )
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.CharField(max_length=200, blank=True)
    response_body = models.TextField(blank=True)

    class Meta:
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(
                fields=["delivery", "number"], name="attempt_delivery_number_unique"
            ),
        ]
        indexes = [models.Index(fields=["started_at"], name="attempt_started")]

    def __str__(self) -> str:
        return f"attempt {self.number} → {self.status_code or self.error}"

    @property
    def in_flight(self) -> bool:
        """Still being sent: the claim's placeholder result on its delivery's
        current attempt, whose lease has not run out (``services.claims``).
        Until then the placeholder's "worker stopped mid-send" is not true."""
        from .services.claims import INTERRUPTED

        delivery = self.delivery
        return (
            self.error == INTERRUPTED
            and self.number == delivery.attempts
            and delivery.state == WebhookDelivery.State.PENDING
            and delivery.locked_until is not None
            and delivery.locked_until > timezone.now()
        )
