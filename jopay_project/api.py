"""The base every v1 endpoint derives from: auth, scope, rate limit, tenant, envelope.

A view says what it is with three attributes and does its work in a handler::

    class PaymentRequestDetailApi(JoPayApiView):
        rate_group = "requests.detail"        # its own counter per key (D27)
        required_scope = "requests:read"      # D7

        def get(self, request, request_id):
            ...  # self.tenant is the key's partner + mode (D10)
"""

from __future__ import annotations

import uuid
from typing import Any

from django.db import DatabaseError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from merchants.authentication import ApiKeyAuthentication, HasApiKey

from . import ratelimits
from .errors import ErrorCode, JoPayError
from .formats import parse_uuid_text
from .tenancy import Tenant


class JoPayApiView(APIView):
    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [HasApiKey]
    rate_group: str = ""
    required_scope: str | None = None
    # Per-method overrides when one route serves two operations (GET/PUT).
    rate_groups: dict[str, str] = {}
    required_scopes: dict[str, str | None] = {}

    def _operation(self, request: Request, table: dict) -> str:
        """Which entry of a per-method table a call falls under.

        HEAD is served by the GET handler, so it is GET here too: it used to
        find no entry, and ran unscoped and uncounted (D7, D27). Any other
        method the table does not list (answered 405) is counted and
        scope-checked as the route's read, like a single-method route's 405.
        """
        method = "GET" if request.method == "HEAD" else request.method
        return method if method in table else "GET"

    def get_required_scope(self, request: Request) -> str | None:
        if not self.required_scopes:
            return self.required_scope
        return self.required_scopes[self._operation(request, self.required_scopes)]

    @property
    def allowed_methods(self) -> list[str]:
        # The 405's ``Allow`` header: OPTIONS is refused too (below).
        return [m for m in super().allowed_methods if m != "OPTIONS"]

    def options(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """No OPTIONS metadata (it showed internal docstrings): 405, as for any
        method the route does not serve (D3)."""
        return self.http_method_not_allowed(request, *args, **kwargs)

    @property
    def tenant(self) -> Tenant:
        return self.request.tenant

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        self.format_kwarg = self.get_format_suffix(**kwargs)
        # The API speaks JSON only: an ``Accept`` or ``?format=`` asking for
        # something else gets JSON, not a 400/404 that skipped auth and the
        # D27 counter (and, on an unknown route, hid its 404 from D3).
        neg = self.perform_content_negotiation(request, force=True)
        request.accepted_renderer, request.accepted_media_type = neg
        version, scheme = self.determine_version(request, *args, **kwargs)
        request.version, request.versioning_scheme = version, scheme
        try:
            self.perform_authentication(request)
        except DatabaseError:
            # The database is down: uncounted. DRF recorded no result, so
            # counting (``request.auth``) would authenticate again: a second
            # query and, with a hung server, a second connect timeout
            # (tests/foundation/test_auth_database_down.py).
            raise
        except Exception:
            # Counted even when auth fails: an unauthenticated caller is
            # counted per client address, so key guessing is limited too.
            self._check_rate_limit(request)
            raise
        self._check_rate_limit(request)
        self.check_permissions(request)

    def _check_rate_limit(self, request: Request) -> None:
        group = (
            self.rate_groups[self._operation(request, self.rate_groups)]
            if self.rate_groups
            else self.rate_group
        )
        if not group:
            return
        key = request.auth  # None when authentication failed or was absent
        if key is not None:
            bucket = f"key:{key.pk}"
            rate = key.partner.rate_limit_overrides.get(group) or None
        else:
            bucket = f"ip:{ratelimits.client_ip_hash(request._request)}"
            rate = None
        usage = ratelimits.hit(request._request, group, bucket, rate=rate)
        request._request.jopay_rate_usage = usage
        if usage.exceeded:
            raise JoPayError(
                ErrorCode.RATE_LIMITED,
                retry_after=usage.reset,
                headers={"Retry-After": str(usage.reset)},
            )

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        usage = getattr(
            request._request if isinstance(request, Request) else request,
            "jopay_rate_usage",
            None,
        )
        if usage is not None:
            for name, value in usage.headers().items():
                response[name] = value
        return response


def parse_uuid(value: str, code: ErrorCode) -> uuid.UUID:
    """An id as a UUID (D1, ``parse_uuid_text``), or the route's own code (D35)."""
    try:
        return parse_uuid_text(value)
    except ValueError:
        raise JoPayError(code) from None


def ok(
    payload: dict[str, Any] | None = None,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """The success envelope: ``{"ok": true, ...fields}`` (D2)."""
    return Response({"ok": True, **(payload or {})}, status=status, headers=headers)
