"""Webhook writes (STYLE.md services): events, endpoints, outbox state."""

from .endpoints import (
    StaleRotationError,
    webhook_endpoint_disable,
    webhook_endpoint_set,
    webhook_rotation_confirm,
    webhook_secret_rotate,
)
from .events import (
    event_emit,
    event_resend,
    webhook_delivery_resend,
    webhook_test_send,
)

__all__ = [
    "StaleRotationError",
    "event_emit",
    "event_resend",
    "webhook_delivery_resend",
    "webhook_endpoint_disable",
    "webhook_endpoint_set",
    "webhook_rotation_confirm",
    "webhook_secret_rotate",
    "webhook_test_send",
]
