"""Webhooks and events API v1 (spec §6; D23–D25, D35). Thin: parse, call, render."""

from __future__ import annotations

from rest_framework.request import Request
from rest_framework.response import Response

from jopay_project.api import JoPayApiView, ok, parse_uuid
from jopay_project.errors import ErrorCode, JoPayError
from jopay_project.pagination import keyset_page, parse_limit

from ..models import WebhookEvent
from ..selectors import event_get, event_list, webhook_endpoint_get
from ..services import event_resend, webhook_endpoint_set, webhook_test_send
from .serializers import (
    endpoint_output,
    event_output,
    json_object_body,
    parse_endpoint_input,
)

WEBHOOKS_WRITE = "webhooks:write"


class WebhookEndpointApi(JoPayApiView):
    """``GET`` / ``PUT /api/v1/webhooks/endpoint`` (D35)."""

    rate_group = "webhooks.endpoint"
    required_scopes = {"GET": None, "PUT": WEBHOOKS_WRITE}

    def get(self, request: Request) -> Response:
        return ok(endpoint_output(webhook_endpoint_get(partner=self.tenant.partner)))

    def put(self, request: Request) -> Response:
        # D35: one endpoint serves both modes, so only a live key may change it.
        if self.tenant.test_mode:
            raise JoPayError(
                ErrorCode.INSUFFICIENT_SCOPE, required_scope=WEBHOOKS_WRITE
            )
        changes = parse_endpoint_input(json_object_body(request))
        endpoint, secret = webhook_endpoint_set(partner=self.tenant.partner, **changes)
        return ok(endpoint_output(endpoint, new_secret=secret))


class WebhookTestApi(JoPayApiView):
    """``POST /api/v1/webhooks/test``: a ``webhook.test`` event in the key's mode."""

    rate_group = "webhooks.test"
    required_scope = WEBHOOKS_WRITE

    def post(self, request: Request) -> Response:
        delivery = webhook_test_send(
            partner=self.tenant.partner, test_mode=self.tenant.test_mode
        )
        return ok(
            {"event_id": str(delivery.event_id), "delivery_id": str(delivery.pk)},
            status=202,
        )


class EventListApi(JoPayApiView):
    """``GET /api/v1/events``: 30 days, keyset, filters ``request_id`` and ``type``."""

    rate_group = "events.list"
    required_scope = "events:read"

    def get(self, request: Request) -> Response:
        params = request.query_params
        limit = parse_limit(params.get("limit"))
        request_id = params.get("request_id")
        if request_id is not None:
            request_id = parse_uuid(request_id, ErrorCode.INVALID_REQUEST_ID)
        type_ = params.get("type")
        if type_ is not None and type_ not in WebhookEvent.Type.values:
            raise JoPayError(ErrorCode.INVALID_REQUEST, field="type")
        qs = event_list(tenant=self.tenant, request_id=request_id, type=type_)
        page = keyset_page(qs, limit=limit, cursor=params.get("cursor"))
        return ok(page.envelope([event_output(e) for e in page.items]))


class EventResendApi(JoPayApiView):
    """``POST /api/v1/events/:id/resend``: one more attempt, same ``delivery_id``."""

    rate_group = "events.resend"
    required_scope = WEBHOOKS_WRITE

    def post(self, request: Request, event_id: str) -> Response:
        # D35: a malformed event id is not_found, like a foreign one.
        event = event_get(
            tenant=self.tenant, event_id=parse_uuid(event_id, ErrorCode.NOT_FOUND)
        )
        delivery = event_resend(event=event)
        return ok(
            {
                "event_id": str(event.pk),
                "delivery_id": str(delivery.pk),
                "state": delivery.state,
            },
            status=202,
        )
