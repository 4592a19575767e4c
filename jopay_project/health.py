"""``/healthz`` and ``/readyz`` for load balancers and orchestrators.

Answered by a middleware ahead of the host check and the HTTPS redirect (only
the HEAD, security-header and request-id layers run first, and none of them
refuses or redirects): a probe comes over plain
HTTP with the node's address as its Host, which the HTTPS redirect and the
``ALLOWED_HOSTS`` check would otherwise answer with a 301 or a 400.

* ``/healthz``: the process answers (no database, no cache).
* ``/readyz``: it can serve: the database answers ``SELECT 1``; 503 when it
  does not. The cache (Redis: rate-limit counters, D27) is checked too, and
  ``ok`` is false while it is down, but the answer stays 200: the API keeps
  answering without it (uncounted), so a load balancer that took every node
  out on it turned a Redis outage into a full one. The body names what is
  down, never why (no host names or errors leave the process; the log has
  them).
"""

from __future__ import annotations

import logging

from django.core.cache import caches
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse

logger = logging.getLogger("jopay.health")

PATHS = ("/healthz", "/readyz")


def _down(check: str, exc: Exception) -> None:
    # One line per failing probe: a load balancer asks every few seconds, and
    # the driver's chained traceback (about 70 lines) buried everything else.
    reason = " ".join(str(exc).split())
    logger.error("readyz: %s down (%s: %s)", check, type(exc).__name__, reason)


def _checks() -> dict[str, str]:
    checks = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception as exc:
        _down("database", exc)
        checks["database"] = "down"
    try:
        caches["default"].get("jopay:readyz")
        checks["cache"] = "ok"
    except Exception as exc:
        _down("cache", exc)
        checks["cache"] = "down"
    return checks


def _answer(request: HttpRequest) -> HttpResponse:
    if request.path == "/healthz":
        response = JsonResponse({"ok": True})
    else:
        checks = _checks()
        ok = all(state == "ok" for state in checks.values())
        status = 200 if checks["database"] == "ok" else 503
        response = JsonResponse({"ok": ok, "checks": checks}, status=status)
    response["Cache-Control"] = "no-store"
    return response


class HealthCheckMiddleware:
    """Answer GET/HEAD of the two probe paths; everything else passes through."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path in PATHS and request.method in ("GET", "HEAD"):
            return _answer(request)
        return self.get_response(request)
