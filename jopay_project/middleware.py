"""Request ids on every response, a JSON-only guarantee for ``/api/v1`` (D2, D3),
a Content-Security-Policy on every HTML page, and the security headers on
every answer, also those built outside the middleware that sets them."""

from __future__ import annotations

import logging
import re
import uuid

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.security import SecurityMiddleware
from django.utils.cache import add_never_cache_headers

from .errors import ErrorCode, error_json_response

logger = logging.getLogger("jopay.api")

API_PREFIX = "/api/v1"
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}\Z")  # \Z: "$" lets "\n" through

# What a non-JSON answer from inside Django (resolver 404, 405, host check,
# crash page) becomes when it would otherwise leak out of /api/v1 as HTML.
_STATUS_TO_CODE = {
    400: ErrorCode.INVALID_REQUEST,
    401: ErrorCode.UNAUTHORIZED,
    403: ErrorCode.AUTH_FAILED,
    404: ErrorCode.NOT_FOUND,
    405: ErrorCode.METHOD_NOT_ALLOWED,
    413: ErrorCode.INVALID_BODY,
    429: ErrorCode.RATE_LIMITED,
}


def is_api_path(path: str) -> bool:
    return path == API_PREFIX or path.startswith(API_PREFIX + "/")


class HeadWithoutBodyMiddleware:
    """A HEAD answer carries the GET's headers and no body (RFC 9110 §9.3.2).

    Django's views answer HEAD as GET, and only its development server drops
    the body; gunicorn sent it, which desynchronises a kept-alive connection.
    Outermost, so every answer (API, pages, errors) passes through it. Also
    keeps ``Content-Length`` off every 204, where HTTP forbids it.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.method == "HEAD" and not response.streaming:
            length = len(response.content)
            response.content = b""
            response["Content-Length"] = str(length)
        if response.status_code == 204:
            # RFC 9110 §8.6: never on a 204 (Django's CommonMiddleware adds 0).
            del response["Content-Length"]
        return response


class RequestIdMiddleware:
    """Echo a sane caller ``X-Request-Id``, else mint a UUID; set it on every answer."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-Id", "")
        request.request_id = (
            incoming if _SANE_REQUEST_ID.match(incoming) else str(uuid.uuid4())
        )
        response = self.get_response(request)
        response["X-Request-Id"] = request.request_id
        return response


def answers_json(request: HttpRequest) -> bool:
    """``/api/v1``, and the pay page's JSON routes as its script calls them
    (the status poll; a proof post unless a browser without script sent the
    form, which gets pages): these never answer HTML (D32)."""
    path = request.path_info
    if is_api_path(path):
        return True
    if not path.startswith("/pay/"):
        return False
    if path.endswith("/status"):
        return True
    from payments.pay.noscript import wants_html

    return path.endswith("/proof") and not wants_html(request)


class ApiFallbackMiddleware:
    """Make sure nothing under ``/api/v1`` answers HTML, whatever failed and where;
    nor the pay page's JSON routes (``answers_json``): a database outage
    answered its status poll with Django's HTML 500."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not answers_json(request):
            return response
        content_type = response.get("Content-Type", "")
        if content_type.startswith("application/json") or response.status_code < 400:
            return response
        code = _STATUS_TO_CODE.get(response.status_code, ErrorCode.API_ERROR)
        extra = {}
        if code is ErrorCode.API_ERROR:
            extra["request_id"] = getattr(request, "request_id", None)
        return _uncached(error_json_response(code, **extra))

    def process_exception(self, request: HttpRequest, exception: Exception):
        if not answers_json(request):
            return None
        from django.http import Http404

        if isinstance(exception, Http404):
            return _uncached(error_json_response(ErrorCode.NOT_FOUND))
        request_id = getattr(request, "request_id", None)
        logger.exception(
            "unhandled error at %s (request_id=%s)", request.path_info, request_id
        )
        return _uncached(
            error_json_response(ErrorCode.API_ERROR, request_id=request_id)
        )


def _uncached(response: HttpResponse) -> HttpResponse:
    """An envelope built in place of the view's answer lost the view's own
    ``Cache-Control`` (the pay page's status poll is ``never_cache``); a
    failure is never to be kept by a browser or a proxy."""
    add_never_cache_headers(response)
    return response


# What single pages need on top of the policy, by URL name. The Redoc page
# (/docs/api/, templates/docs/redoc.html) builds its search worker from a
# blob: URL. (Its fonts are the system's: no third-party host.)
CSP_PAGE_EXTRAS: dict[str, dict[str, str]] = {
    "api-docs": {"worker-src": "blob:"},
}
# Directives a page narrows instead. Redoc's sidebar footer loads its logo
# from cdn.redoc.ly; refused, Redoc drops the image and keeps the link text.
CSP_PAGE_ONLY: dict[str, dict[str, str]] = {
    "api-docs": {"img-src": "'self' data:"},
}


def csp_with(
    policy: str, extras: dict[str, str], only: dict[str, str] | None = None
) -> str:
    """``policy`` with ``extras``' sources added to each directive (a directive the
    policy lacks starts from ``'self'``, which is what it fell back to), and
    ``only``'s directives replacing the policy's."""
    directives: dict[str, str] = {}
    for part in policy.split(";"):
        name, _, sources = part.strip().partition(" ")
        if name:
            directives[name] = sources.strip()
    for name, sources in extras.items():
        base = directives.get(name) or "'self'"
        directives[name] = f"{base} {sources}"
    directives.update(only or {})
    return "; ".join(f"{name} {sources}" for name, sources in directives.items())


class ContentSecurityPolicyMiddleware:
    """Set ``settings.JOPAY_CONTENT_SECURITY_POLICY`` on every HTML answer.

    The pages run only same-origin script files (no inline script, no ``on*=``
    attributes): markup injected through a memo or a partner's branding cannot
    run script. A view that set its own policy keeps it; JSON answers need none.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.policy = settings.JOPAY_CONTENT_SECURITY_POLICY
        self.page_policies = {
            name: csp_with(
                self.policy, CSP_PAGE_EXTRAS.get(name, {}), CSP_PAGE_ONLY.get(name)
            )
            for name in CSP_PAGE_EXTRAS.keys() | CSP_PAGE_ONLY.keys()
        }

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.process_response(request, self.get_response(request))

    def process_response(
        self, request: HttpRequest, response: HttpResponse
    ) -> HttpResponse:
        if (
            self.policy
            and "Content-Security-Policy" not in response
            and response.get("Content-Type", "").startswith("text/html")
        ):
            match = getattr(request, "resolver_match", None)
            name = match.url_name if match else None
            response["Content-Security-Policy"] = self.page_policies.get(
                name, self.policy
            )
        return response


class SecurityHeadersMiddleware:
    """Every answer carries the headers the inner layers set on a normal one.

    Django's ``SecurityMiddleware`` (``nosniff``, ``Referrer-Policy``,
    ``Cross-Origin-Opener-Policy``, HSTS over HTTPS), ``X-Frame-Options`` and
    our page policy sit inside the chain, so an answer built outside them went
    out without: ``ApiFallbackMiddleware``'s envelope replacing a crash page or
    the host check's 400 (a new response, none of the old one's headers), the
    probes' answers, and a page Django built for an exception raised in a
    middleware outside the clickjacking one. Outermost, this applies the same
    three layers again to whatever leaves; each only adds a header an answer
    lacks, so a normal answer is unchanged and a view's own choice is kept.
    """

    def __init__(self, get_response):
        self.get_response = get_response
        self.layers = (
            SecurityMiddleware(get_response).process_response,
            XFrameOptionsMiddleware(get_response).process_response,
            ContentSecurityPolicyMiddleware(get_response).process_response,
        )

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        for layer in self.layers:
            response = layer(request, response)
        return response
