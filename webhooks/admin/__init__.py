"""Staff admin for webhook endpoints, events, deliveries and their attempt logs.

Secrets are never displayed: the admin shows whether a rotation is pending
(rotating is the partner's, from the portal or the API, D25), and changes that
matter (enable, disable, resend) go through the services so they keep the same
guarantees as the API. Each action leaves a LogEntry naming the staff user.

``endpoints``: the endpoint settings and switch; ``outbox``: the read-only
events and deliveries (D24), with their resend action.
"""

from .endpoints import WebhookEndpointAdmin, WebhookEndpointForm
from .outbox import WebhookAttemptInline, WebhookDeliveryAdmin, WebhookEventAdmin

__all__ = [
    "WebhookAttemptInline",
    "WebhookDeliveryAdmin",
    "WebhookEndpointAdmin",
    "WebhookEndpointForm",
    "WebhookEventAdmin",
]
