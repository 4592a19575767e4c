import contextlib
import threading

from django.http import HttpResponse
from drf_spectacular.utils import extend_schema
from drf_spectacular.views import SCHEMA_KWARGS, SpectacularAPIView
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request

from .api import JoPayApiView
from .errors import ErrorCode, JoPayError


class ApiNotFound(JoPayApiView):
    """Any unknown route under /api/v1, whatever the method (D3).

    Still a v1 answer, so it is counted and carries ``X-RateLimit-*`` (D27):
    per key when the caller sent a usable one, per client address otherwise.
    A missing or bad key does not outrank the 404: the route does not exist
    for anyone, so there is nothing to authenticate for.
    """

    rate_group = "api.unknown_route"
    permission_classes = []

    def perform_authentication(self, request: Request) -> None:
        # On failure DRF has already set user/auth to the unauthenticated values.
        with contextlib.suppress(exceptions.APIException):
            request.user  # noqa: B018 (runs the authenticator)

    def http_method_not_allowed(self, request, *args, **kwargs):
        raise JoPayError(ErrorCode.NOT_FOUND)

    options = http_method_not_allowed

    @property
    def default_response_headers(self) -> dict[str, str]:
        # DRF names the route's methods in ``Allow`` on every answer; this
        # route has none, and an empty ``Allow`` tells a client that nothing,
        # not even GET, exists at a path that is merely unknown.
        headers = super().default_response_headers
        headers.pop("Allow", None)
        return headers


class ApiSchemaView(SpectacularAPIView):
    """``/api/v1/schema``: the OpenAPI document (D3), no key, not rate limited.

    Like every other v1 route it serves only what it documents: OPTIONS is
    405 ``method_not_allowed`` (DRF answered it 200 with the view's metadata).
    Its errors are the JSON envelope rendered here, with the 405's ``Allow``
    header (the YAML renderer negotiated for the document could not render
    them, and the fallback that replaced them dropped the header).
    """

    # The document is the same for every caller, so it is built and rendered
    # once per process and format (a deploy restarts the processes). It needs
    # no key and is not rate limited: built per request it cost 40 ms (JSON)
    # to 90 ms (YAML) of CPU, so a few dozen requests a second from anyone
    # kept every web worker busy. ``?version=`` and ``?lang=`` are not read:
    # there is one of each, and a cached answer must not carry a caller's.
    _rendered: dict[str, tuple[bytes, str, str]] = {}
    _lock = threading.Lock()

    @extend_schema(**SCHEMA_KWARGS)  # as the base's get: not in the document
    def get(self, request, *args, **kwargs):
        # One entry per renderer, never per Accept header: its parameters
        # (``; indent=3``, ``; x=1``) are the caller's and would grow the cache.
        key = request.accepted_renderer.media_type
        cached = self._rendered.get(key)
        if cached is None:
            with self._lock:
                cached = self._rendered.get(key) or self._render(request)
                self._rendered[key] = cached
        content, content_type, disposition = cached
        response = HttpResponse(content, content_type=content_type)
        response["Content-Disposition"] = disposition
        return response

    def _get_version_parameter(self, request):
        return None

    def perform_content_negotiation(self, request, force=False):
        # Like every v1 route (``JoPayApiView.initial``), an ``Accept`` or
        # ``?format=`` this route cannot serve gets its default document, not
        # DRF's 406 (which the envelope could only call invalid_request).
        # The query is still parsed first: too many fields stays the
        # invalid_request every v1 route answers (force=True swallowed it).
        request.query_params  # noqa: B018
        return super().perform_content_negotiation(request, force=True)

    def _render(self, request) -> tuple[bytes, str, str]:
        response = self._get_schema_response(request)
        renderer = request.accepted_renderer
        media_type = renderer.media_type  # without the caller's parameters
        context = self.get_renderer_context()
        content = renderer.render(response.data, media_type, context)
        charset = getattr(renderer, "charset", None)
        content_type = f"{media_type}; charset={charset}" if charset else media_type
        return content, content_type, response["Content-Disposition"]

    @classmethod
    def cache_clear(cls) -> None:
        """Forget the rendered documents (tests that change the schema)."""
        cls._rendered.clear()

    def finalize_response(self, request, response, *args, **kwargs):
        if getattr(response, "status_code", 200) >= 400:
            request.accepted_renderer = JSONRenderer()
            request.accepted_media_type = JSONRenderer.media_type
        return super().finalize_response(request, response, *args, **kwargs)

    @property
    def allowed_methods(self) -> list[str]:
        return [m for m in super().allowed_methods if m != "OPTIONS"]

    def options(self, request, *args, **kwargs):
        return self.http_method_not_allowed(request, *args, **kwargs)
