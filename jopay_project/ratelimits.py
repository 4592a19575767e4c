"""Rate limits (decisions.md D27, spec §7): one table, read by the limiter and the docs.

Counters are django-ratelimit's fixed one-minute (or one-hour) windows in the
shared cache, so every gunicorn process and host sees the same count. The
limiter's own ``Ratelimited`` exception (a ``PermissionDenied``) is never
allowed to surface: callers turn ``should_limit`` into the 429 envelope.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest
from django_ratelimit import ALL
from django_ratelimit.core import get_usage


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
        Limit(
            "webhooks.endpoint", "60/m", "API key", "GET/PUT /api/v1/webhooks/endpoint"
        ),
        Limit("webhooks.test", "5/m", "API key", "POST /api/v1/webhooks/test"),
        Limit("events.list", "60/m", "API key", "GET /api/v1/events"),
        Limit("events.resend", "60/m", "API key", "POST /api/v1/events/:id/resend"),
        Limit("plans.create", "60/m", "API key", "POST /api/v1/recurring/plans"),
        Limit("plans.list", "60/m", "API key", "GET /api/v1/recurring/plans"),
        Limit("plans.detail", "60/m", "API key", "GET /api/v1/recurring/plans/:id"),
        Limit(
            "plans.action",
            "60/m",
            "API key",
            "POST /api/v1/recurring/plans/:id/{pause,resume,cancel}",
        ),
        Limit("pay.page", "60/m", "IP", "GET /pay/<id>"),
        Limit("pay.status", "120/m", "IP", "GET /pay/<id>/status"),
        Limit("pay.proof", "60/h", "IP", "POST /pay/<id>/proof"),
        Limit("pay.proof_request", "10/h", "request", "POST /pay/<id>/proof"),
        Limit(
            "portal.login", "10/15m", "IP and user", "POST /portal/login/ (failures)"
        ),
    ]
}


@dataclass
class Usage:
    limit: int
    remaining: int
    reset: int  # whole seconds until the window frees up
    exceeded: bool

    def headers(self) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
        }


def client_ip_hash(request: HttpRequest) -> str:
    """A hashed client address; raw IPs are never stored (spec §7.2). Never raises."""
    raw = request.META.get("REMOTE_ADDR") or "unknown"
    return hashlib.sha256(f"{settings.SECRET_KEY}:{raw}".encode()).hexdigest()[:32]


def hit(
    request: HttpRequest,
    group: str,
    key: str,
    *,
    rate: str | None = None,
    increment: bool = True,
) -> Usage:
    """Count one call of ``group`` for ``key`` and say whether it is over the limit."""
    if not settings.RATELIMIT_ENABLE:
        count, window = _parse(rate or LIMITS[group].rate)
        return Usage(limit=count, remaining=count, reset=window, exceeded=False)
    usage = get_usage(
        request,
        group=f"jopay:{group}",
        key=lambda _group, _request: key,
        rate=rate or LIMITS[group].rate,
        method=ALL,
        increment=increment,
    )
    if usage is None:  # should not happen with an explicit rate; fail closed-but-sane
        count, window = _parse(rate or LIMITS[group].rate)
        return Usage(limit=count, remaining=count, reset=window, exceeded=False)
    limit = usage["limit"]
    return Usage(
        limit=limit,
        remaining=max(limit - usage["count"], 0),
        reset=max(int(usage["time_left"]), 1),
        exceeded=usage["should_limit"],
    )


def _parse(rate: str) -> tuple[int, int]:
    from django_ratelimit.core import _split_rate

    return _split_rate(rate)
