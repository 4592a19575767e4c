"""OpenAPI description of the pieces every v1 operation shares (D2, D3, D5, D27).

The bearer scheme, the error envelope and the rate-limit headers are added
here once, so each view only describes its own request and success body. So
are ``Retry-After`` on every 429 (D27) and ``Idempotent-Replayed`` on the 200
of a create that answers 201 for a new resource (D5: that 200 is a replay).
"""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, inline_serializer
from rest_framework import serializers

from .errors import ErrorCode
from .pagination import DEFAULT_LIMIT, MAX_LIMIT

_ERROR_STATUSES = sorted({code.status for code in ErrorCode})
ERROR_DESCRIPTION = "Error envelope; switch on `error`, not on the status."


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "merchants.authentication.ApiKeyAuthentication"
    name = "bearerAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            # D6: either mode's key.
            "bearerFormat": "jo_live_<32 base62> or jo_test_<32 base62>",
        }


ERROR_SCHEMA = {
    "type": "object",
    "required": ["ok", "error", "message"],
    "properties": {
        "ok": {"type": "boolean", "enum": [False]},
        "error": {"type": "string", "enum": sorted(c.value for c in ErrorCode)},
        "message": {"type": "string"},
        "required_scope": {"type": "string"},
        "expected_fiat_code": {"type": "string"},
        "field": {"type": "string"},
        "retry_after": {"type": "integer"},
        "request_id": {"type": "string"},
    },
    "additionalProperties": True,
}

RATE_HEADERS = {
    "X-RateLimit-Limit": {
        "schema": {"type": "integer"},
        "description": "Calls allowed in the window.",
    },
    "X-RateLimit-Remaining": {
        "schema": {"type": "integer"},
        "description": "Calls left in the window after this one.",
    },
    "X-RateLimit-Reset": {
        "schema": {"type": "integer"},
        "description": "Whole seconds until the window frees up.",
    },
    "X-Request-Id": {
        "schema": {"type": "string"},
        "description": "Echoed from the caller when sane, else minted.",
    },
}


RETRY_AFTER_HEADER = {
    "Retry-After": {
        "schema": {"type": "integer"},
        "description": "Whole seconds to wait before sending the call again.",
    }
}
REPLAY_HEADER = {
    "Idempotent-Replayed": {
        "schema": {"type": "string", "enum": ["true"]},
        "description": "An idempotent replay: the resource the same "
        "idempotency_key created, in its current state.",
    }
}
REPLAY_DESCRIPTION = "Idempotent replay (same idempotency_key, same body)."
IDEMPOTENCY_KEY_PARAMETER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "minLength": 32, "maxLength": 64},
    "description": "The idempotency_key, sent as a header instead of in the "
    "body; if both are sent they must be equal.",
}


class JoPayAutoSchema(AutoSchema):
    """drf-spectacular's schema without the views' docstrings as descriptions.

    Those are written for JoPay's developers (decision numbers, several routes
    in one class); an operation's description is what its ``extend_schema``
    states, then ``describe_operations`` adds its scope, rate limit and docs
    section.
    """

    def get_description(self):
        return ""


def describe_operations(result, generator, request, public):
    """Postprocessing hook: each v1 operation's scope, rate limit and a link to
    its section of the docs (``jopay_project.docs.sections``)."""
    from .docs.endpoints import find_operation, normalize_path, rate_text
    from .docs.sections import endpoint_sections

    sections = endpoint_sections()
    for path, operations in result.get("paths", {}).items():
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            found = find_operation(method, path)
            section = sections.get((method.upper(), normalize_path(path)))
            if found is None or section is None:
                continue
            scope = f"Scope `{found.scope}`" if found.scope else "Any key (no scope)"
            limit = found.limit
            rate = f"{rate_text(limit.rate)} per {limit.per}" if limit else "none"
            lines = [
                operation.get("description", ""),
                f"{scope}. Rate limit: {rate}.",
                f"Reference: [{section.title}]({section.url})",
            ]
            operation["description"] = "\n\n".join(line for line in lines if line)
    return result


def add_error_envelope(result, generator, request, public):
    """Postprocessing hook: every v1 operation may answer any error status."""
    components = result.setdefault("components", {}).setdefault("schemas", {})
    components["Error"] = ERROR_SCHEMA
    for path, operations in result.get("paths", {}).items():
        if not path.startswith("/api/v1") or path == "/api/v1/schema":
            continue
        for operation in operations.values():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            if "requestBody" in operation:
                # Every v1 body is read as a JSON object and a missing one is
                # invalid_body (D34): required, also where every field is
                # optional (merchant create and PATCH), which drf-spectacular
                # took for an optional body.
                operation["requestBody"]["required"] = True
            for parameter in operation.get("parameters", []):
                # Every v1 id in a path (request, merchant, plan, event) is a
                # UUID; the URL takes any string so a malformed one answers its
                # own code (D34), which drf-spectacular then typed as a bare
                # string.
                if parameter.get("in") == "path" and parameter["name"].endswith("_id"):
                    parameter["schema"] = {"type": "string", "format": "uuid"}
            for status in _ERROR_STATUSES:
                operation["responses"].setdefault(
                    str(status),
                    {
                        "description": ERROR_DESCRIPTION,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/Error"}
                            }
                        },
                    },
                )
            for response in operation["responses"].values():
                response.setdefault("headers", {}).update(RATE_HEADERS)
            operation["responses"]["429"]["headers"].update(RETRY_AFTER_HEADER)
            responses = operation["responses"]
            if "201" in responses and "200" in responses:
                operation.setdefault("parameters", []).append(IDEMPOTENCY_KEY_PARAMETER)
                responses["200"]["headers"].update(REPLAY_HEADER)
                responses["200"]["description"] = (
                    responses["200"].get("description") or REPLAY_DESCRIPTION
                )
    return result


def list_parameters(*filters: OpenApiParameter) -> list[OpenApiParameter]:
    """A list's query parameters: ``filters``, then ``limit`` and ``cursor`` as
    every list takes them (D18, D34: limit 1 … 100, default 50)."""
    return [
        *filters,
        OpenApiParameter(
            "limit",
            {
                "type": "integer",
                "minimum": 1,
                "maximum": MAX_LIMIT,
                "default": DEFAULT_LIMIT,
            },
            required=False,
            description=f"1-{MAX_LIMIT}, default {DEFAULT_LIMIT}",
        ),
        OpenApiParameter(
            "cursor",
            str,
            required=False,
            description="The next_cursor of the previous page.",
        ),
    ]


def page_schema(
    name: str, item: type[serializers.Serializer]
) -> serializers.Serializer:
    """A list page's documented shape (D2, D18): the envelope's ``ok``, the
    items (``item``, which carry no ``ok`` of their own), ``has_more`` and
    ``next_cursor``, in that order (DRF orders fields as they are created)."""
    return inline_serializer(
        name,
        {
            "ok": serializers.BooleanField(),
            "data": item(many=True),
            "has_more": serializers.BooleanField(),
            "next_cursor": serializers.CharField(allow_null=True),
        },
    )


def uuid_parameter(name: str) -> OpenApiParameter:
    return OpenApiParameter(name, OpenApiTypes.UUID, required=False)


def enum_parameter(name: str, values: list[str]) -> OpenApiParameter:
    return OpenApiParameter(name, str, required=False, enum=values)
