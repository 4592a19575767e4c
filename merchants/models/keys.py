"""Partners' API keys (D6–D8)."""

from __future__ import annotations

import uuid

from django.db import models
from django.utils import timezone

from .partners import Partner


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
