"""What the docs know about v1 endpoints, read from the URL conf and the views.

Scopes and rate groups are attributes of each ``JoPayApiView`` (D7, D27), so
the docs read them from there instead of repeating them: a view that changes
its scope or limit changes the docs with it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from html import escape

from django.urls import URLPattern, URLResolver, get_resolver

from jopay_project.api import JoPayApiView
from jopay_project.ratelimits import LIMITS, Limit

API_PREFIX = "/api/v1/"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
# Django route converters (<str:request_id>) are written ":id" in the docs,
# as the spec and the rate-limit table write them.
_CONVERTER = re.compile(r"<(?:\w+:)?\w+>")


@dataclass(frozen=True)
class Operation:
    method: str
    path: str  # "/api/v1/requests/:id/cancel"
    view: type[JoPayApiView]

    @property
    def scope(self) -> str | None:
        return self.view.required_scopes.get(self.method, self.view.required_scope)

    @property
    def rate_group(self) -> str:
        return self.view.rate_groups.get(self.method, self.view.rate_group)

    @property
    def limit(self) -> Limit | None:
        return LIMITS.get(self.rate_group)


def _walk(patterns: list, prefix: str = ""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield "/" + prefix + str(pattern.pattern), pattern


def api_operations() -> list[Operation]:
    """Every (method, path) a ``JoPayApiView`` under ``/api/v1/`` answers.

    In URL-conf order.
    """
    return list(_operations_of(get_resolver()))


# Keyed on the resolver object: Django builds a new one whenever the URL conf
# changes (``clear_url_caches``, ``override_settings(ROOT_URLCONF=...)``).
@lru_cache(maxsize=4)
def _operations_of(resolver: URLResolver) -> tuple[Operation, ...]:
    operations: list[Operation] = []
    for route, pattern in _walk(resolver.url_patterns):
        view = getattr(pattern.callback, "view_class", None)
        if not route.startswith(API_PREFIX) or view is None:
            continue
        if not issubclass(view, JoPayApiView):
            continue
        path = _CONVERTER.sub(":id", route)
        operations.extend(
            Operation(method, path, view)
            for method in METHODS
            if callable(getattr(view, method.lower(), None))
        )
    return tuple(operations)


def normalize_path(path: str) -> str:
    """A path parameter in any spelling (``{plan_id}``, ``<id>``, ``:x``) → ``:id``."""
    return re.sub(r"\{\w+\}|<(?:\w+:)?\w+>|:\w+", ":id", path)


def find_operation(method: str, path: str) -> Operation | None:
    method, path = method.upper(), normalize_path(path)
    for operation in api_operations():
        if operation.method == method and operation.path == path:
            return operation
    return None


def rate_text(rate: str) -> str:
    """``"60/m"`` → ``"60 per minute"``; ``"10/15m"`` → ``"10 per 15 minutes"``."""
    count, _, period = rate.partition("/")
    match = re.fullmatch(r"(\d*)([smhd])", period)
    if not match:
        return rate
    units = {"s": "second", "m": "minute", "h": "hour", "d": "day"}
    number, unit = match.group(1), units[match.group(2)]
    if number and number != "1":
        return f"{count} per {number} {unit}s"
    return f"{count} per {unit}"


def endpoint_meta_html(method: str, path: str) -> str:
    """The one-line header of an endpoint section: method, path, scope, rate limit.

    Raises ``DocsError`` when no v1 view answers ``method path``, so the docs
    cannot describe an endpoint that does not exist.
    """
    from .render import DocsError

    operation = find_operation(method, path)
    if operation is None:
        raise DocsError(f"no v1 endpoint answers {method} {path}")
    scope = operation.scope
    scope_html = (
        f"scope <code>{escape(scope)}</code>" if scope else "any key (no scope needed)"
    )
    limit = operation.limit
    limit_html = (
        f"{escape(rate_text(limit.rate))} per {escape(limit.per)}"
        if limit
        else "not rate limited"
    )
    return (
        f'<div class="endpoint-meta">'
        f'<span class="http-method {escape(operation.method.lower())}">'
        f"{escape(operation.method)}</span> "
        f"<code>{escape(operation.path)}</code>"
        f'<span class="meta">{scope_html}</span>'
        f'<span class="meta">{limit_html}</span>'
        f"</div>"
    )
