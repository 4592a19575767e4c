"""Reading a JSON API body (D4, D34), and a create's idempotency key (D17)."""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request

from jopay_project.errors import BODY_NOT_JSON_TYPE, ErrorCode, JoPayError

BODY_CHUNKED = (
    "Chunked request bodies (Transfer-Encoding: chunked) are not supported;"
    " send the JSON object with a Content-Length."
)


def json_object_body(request: Request) -> dict[str, Any]:
    """The request body as a JSON object, else ``invalid_body`` (D4, D34).

    A missing or empty body, a non-JSON content type and any JSON value that is
    not an object (array, string, number, null) are all ``invalid_body``.
    """
    if request.content_type.split(";")[0].strip().lower() != "application/json":
        raise JoPayError(ErrorCode.INVALID_BODY, BODY_NOT_JSON_TYPE)
    if "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
        # Django reads a WSGI body by its Content-Length only, so a chunked
        # one arrives as nothing: say so, not "the body is empty".
        raise JoPayError(ErrorCode.INVALID_BODY, BODY_CHUNKED)
    length = request.META.get("CONTENT_LENGTH") or "0"
    # "abc", "-1", or "²" (``isdigit`` but no ``int``: a 500): no usable body.
    if not (length.isascii() and length.isdigit()) or int(length) <= 0:
        raise JoPayError(
            ErrorCode.INVALID_BODY, "The body is empty; send a JSON object."
        )
    data = request.data  # a ParseError here renders as invalid_body
    if not isinstance(data, dict):
        raise JoPayError(
            ErrorCode.INVALID_BODY,
            f"The body must be a JSON object, not {_json_kind(data)}.",
        )
    return data


IDEMPOTENCY_HEADER = "Idempotency-Key"


def create_body(request: Request) -> dict[str, Any]:
    """A create endpoint's body, with an ``Idempotency-Key`` header read as its
    ``idempotency_key`` when the body has none (D17).

    A client sending the header most HTTP APIs use was otherwise answered as
    if it sent no key: every retry created again. The header obeys the body
    key's rules; a header and a different body key are
    ``invalid_idempotency_key``.
    """
    body = json_object_body(request)
    header = request.headers.get(IDEMPOTENCY_HEADER)
    if header is None:
        return body
    if body.get("idempotency_key") is None:
        return {**body, "idempotency_key": header}
    if body["idempotency_key"] != header:
        raise JoPayError(
            ErrorCode.INVALID_IDEMPOTENCY_KEY,
            "The Idempotency-Key header and the body's idempotency_key differ;"
            " send one key.",
        )
    return body


def _json_kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    return "an array" if isinstance(value, list) else "a string"
