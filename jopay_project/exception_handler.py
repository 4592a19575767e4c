"""DRF's ``EXCEPTION_HANDLER``: every API failure becomes the D2 envelope.

Django's, DRF's and django-ratelimit's exceptions are mapped onto the one
registry in ``jopay_project.errors`` (D0, D3); anything else is logged with
its request id and answered ``api_error``, never HTML.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import (
    BadRequest,
    PermissionDenied,
    RequestDataTooBig,
    SuspiciousOperation,
)
from django.http import Http404
from django_ratelimit.exceptions import Ratelimited
from rest_framework import exceptions as drf_exceptions
from rest_framework.response import Response

from jopay_project.errors import BODY_NOT_JSON_TYPE, ErrorCode, JoPayError

logger = logging.getLogger("jopay.errors")


def _from_drf(exc: drf_exceptions.APIException) -> JoPayError:
    from merchants.authentication import InsufficientScope  # avoid an import cycle

    if isinstance(exc, InsufficientScope):
        return JoPayError(
            ErrorCode.INSUFFICIENT_SCOPE, required_scope=exc.required_scope
        )
    if isinstance(exc, drf_exceptions.NotAuthenticated):
        return JoPayError(ErrorCode.UNAUTHORIZED)
    if isinstance(exc, drf_exceptions.AuthenticationFailed):
        return JoPayError(ErrorCode.AUTH_FAILED)
    if isinstance(exc, drf_exceptions.UnsupportedMediaType):
        return JoPayError(ErrorCode.INVALID_BODY, BODY_NOT_JSON_TYPE)
    if isinstance(exc, drf_exceptions.ParseError):
        # Our parser's detail is "JSON parse error - <why, with the position>".
        why = str(exc.detail).removeprefix("JSON parse error - ")
        return JoPayError(ErrorCode.INVALID_BODY, f"The body is not valid JSON: {why}.")
    if isinstance(exc, drf_exceptions.MethodNotAllowed):
        return JoPayError(ErrorCode.METHOD_NOT_ALLOWED)
    if isinstance(exc, drf_exceptions.NotFound):
        return JoPayError(ErrorCode.NOT_FOUND)
    if isinstance(exc, drf_exceptions.Throttled):
        wait = int(exc.wait or 60)
        return JoPayError(
            ErrorCode.RATE_LIMITED, retry_after=wait, headers={"Retry-After": str(wait)}
        )
    if isinstance(exc, drf_exceptions.PermissionDenied):
        return JoPayError(ErrorCode.AUTH_FAILED)
    if isinstance(exc, drf_exceptions.ValidationError):
        return _from_validation(exc)
    return JoPayError(ErrorCode.INVALID_REQUEST)


def _from_validation(exc: drf_exceptions.ValidationError) -> JoPayError:
    """A serializer failure → the field's own code, else ``invalid_request``
    with ``field`` (D4)."""
    detail = exc.detail
    if isinstance(detail, dict) and detail:
        field, errors = next(iter(detail.items()))
        first = errors[0] if isinstance(errors, list) and errors else errors
        code = getattr(first, "code", None)
        if code in ErrorCode.__members__.values():
            extra = {} if code != ErrorCode.INVALID_REQUEST else {"field": field}
            return JoPayError(ErrorCode(code), **extra)
        if field == "non_field_errors":
            return JoPayError(ErrorCode.INVALID_REQUEST)
        return JoPayError(ErrorCode.INVALID_REQUEST, field=str(field))
    if isinstance(detail, list) and detail:
        code = getattr(detail[0], "code", None)
        if code in ErrorCode.__members__.values():
            return JoPayError(ErrorCode(code))
    return JoPayError(ErrorCode.INVALID_REQUEST)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF ``EXCEPTION_HANDLER``: every failure → the D2 envelope. Never HTML."""
    if isinstance(exc, JoPayError):
        err = exc
    elif isinstance(exc, Ratelimited):  # before PermissionDenied: it subclasses it
        err = JoPayError(
            ErrorCode.RATE_LIMITED, retry_after=60, headers={"Retry-After": "60"}
        )
    elif isinstance(exc, drf_exceptions.APIException):
        err = _from_drf(exc)
    elif isinstance(exc, Http404):
        err = JoPayError(ErrorCode.NOT_FOUND)
    elif isinstance(exc, PermissionDenied):
        err = JoPayError(ErrorCode.AUTH_FAILED)
    elif isinstance(exc, RequestDataTooBig):
        # A body over DATA_UPLOAD_MAX_MEMORY_SIZE: an unusable body (errors.md).
        err = JoPayError(
            ErrorCode.INVALID_BODY,
            "The body is larger than the"
            f" {settings.DATA_UPLOAD_MAX_MEMORY_SIZE} bytes the API reads.",
        )
    elif isinstance(exc, SuspiciousOperation | BadRequest):
        # More query fields than DATA_UPLOAD_MAX_NUMBER_FIELDS, and Django's
        # other refusals of a malformed request: the caller's fault, not ours.
        err = JoPayError(ErrorCode.INVALID_REQUEST)
    else:
        request = context.get("request")
        request_id = getattr(request, "request_id", None)
        logger.exception("unhandled API error (request_id=%s)", request_id)
        err = JoPayError(ErrorCode.API_ERROR, request_id=request_id)
    headers = dict(err.headers or {})
    if err.status == 401:
        # RFC 7235: a 401 names the scheme it wants (D9: a bearer key).
        headers.setdefault("WWW-Authenticate", 'Bearer realm="jopay"')
    return Response(err.body(), status=err.status, headers=headers or None)
