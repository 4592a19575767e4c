"""The rate-limit table (decisions.md D27, spec §7): every group, its rate and key.

One table, read by the limiter (``ratelimits``) and by the docs generator.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limit:
    group: str
    rate: str  # "<count>/<m|h>"
    per: str  # what the counter is keyed on, for the docs
    route: str  # for the docs


# Per API key and endpoint (spec §7.1, D27); per IP for the public pages (D27).
LIMITS: dict[str, Limit] = {
    limit.group: limit
    for limit in [
        Limit("requests.create", "60/m", "API key", "POST /api/v1/requests/create"),
        Limit("requests.detail", "60/m", "API key", "GET /api/v1/requests/:id"),
        Limit("requests.list", "60/m", "API key", "GET /api/v1/requests"),
        Limit("requests.cancel", "60/m", "API key", "POST /api/v1/requests/:id/cancel"),
        Limit(
            "requests.reverify", "60/m", "API key", "POST /api/v1/requests/:id/reverify"
        ),
        Limit("merchants.create", "30/m", "API key", "POST /api/v1/merchants"),
        Limit("merchants.list", "60/m", "API key", "GET /api/v1/merchants"),
        Limit("merchants.detail", "60/m", "API key", "GET /api/v1/merchants/:id"),
        Limit("merchants.update", "60/m", "API key", "PATCH /api/v1/merchants/:id"),
        Limit("fx.rates", "20/m", "API key", "GET /api/v1/fx/rates"),
        Limit("webhooks.endpoint", "60/m", "API key", "GET /api/v1/webhooks/endpoint"),
        Limit(
            "webhooks.endpoint_update",
            "60/m",
            "API key",
            "PUT /api/v1/webhooks/endpoint",
        ),
        Limit("webhooks.test", "5/m", "API key", "POST /api/v1/webhooks/test"),
        Limit("events.list", "60/m", "API key", "GET /api/v1/events"),
        Limit("events.resend", "60/m", "API key", "POST /api/v1/events/:id/resend"),
        Limit("plans.create", "60/m", "API key", "POST /api/v1/recurring/plans"),
        Limit("plans.list", "60/m", "API key", "GET /api/v1/recurring/plans"),
        Limit("plans.detail", "60/m", "API key", "GET /api/v1/recurring/plans/:id"),
        *(
            Limit(
                f"plans.{action}",
                "60/m",
                "API key",
                f"POST /api/v1/recurring/plans/:id/{action}",
            )
            for action in ("pause", "resume", "cancel")
        ),
        Limit(
            "plans.merchant",
            "20/h",
            "merchant",
            "recurring plan create, pause, resume, cancel (API and portal)",
        ),
        Limit("api.unknown_route", "60/m", "API key", "any other /api/v1 route"),
        Limit("pay.page", "60/m", "IP", "GET /pay/<id>"),
        Limit("pay.status", "120/m", "IP", "GET /pay/<id>/status"),
        Limit("pay.proof", "60/h", "IP", "POST /pay/<id>/proof"),
        Limit("pay.proof_request", "10/h", "request", "POST /pay/<id>/proof"),
        # Spec §13.3: merchants' proof submissions, 30/h per merchant.
        Limit(
            "portal.proof",
            "30/h",
            "merchant",
            "POST /portal/requests/<id>/attach/ (a transaction hash from the portal)",
        ),
        Limit("onboard.page", "60/m", "IP", "GET /onboard/<token>/"),
        Limit("onboard.submit", "30/h", "IP", "POST /onboard/<token>/"),
        Limit(
            "portal.login",
            "10/15m",
            "IP and user",
            # A wrong current password on the password page is a failed sign-in.
            "POST /portal/login/ and /portal/password/ (failures)",
        ),
    ]
}
