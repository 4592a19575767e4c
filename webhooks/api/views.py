"""Webhooks and events API v1 (spec §6; D23–D25, D35). Thin: parse, call, render."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from jopay_project.api import JoPayApiView, ok, parse_uuid
from jopay_project.errors import ErrorCode, JoPayError
from jopay_project.pagination import keyset_page, parse_limit
from jopay_project.schema import (
    enum_parameter,
    list_parameters,
    page_schema,
    uuid_parameter,
)
from merchants.api.serializers import json_object_body

from ..models import WebhookEvent
from ..selectors import event_get, event_list, webhook_endpoint_get
from ..services import event_resend, webhook_endpoint_set, webhook_test_send
from .serializers import endpoint_output, event_output, parse_endpoint_input

WEBHOOKS_WRITE = "webhooks:write"


# OpenAPI only: the shapes ``endpoint_output`` / ``event_output`` render.
class EndpointInputDoc(serializers.Serializer):
    url = serializers.CharField(
        required=False, allow_blank=True, help_text='https URL; "" removes it'
    )
    enabled = serializers.BooleanField(required=False)


class EndpointOutputDoc(serializers.Serializer):
    ok = serializers.BooleanField()
    url = serializers.CharField(allow_null=True)
    enabled = serializers.BooleanField()
    rotation_pending = serializers.BooleanField()
    failing_since = serializers.DateTimeField(allow_null=True)
    slow_since = serializers.DateTimeField(
        allow_null=True,
        help_text="Since when 2xx answers take 2 s or more: one attempt at a time.",
    )
    disabled_reason = serializers.CharField(allow_null=True)
    secret = serializers.CharField(
        required=False, help_text="Only in the answer that generated it."
    )


class AttemptDoc(serializers.Serializer):
    number = serializers.IntegerField()
    status_code = serializers.IntegerField(allow_null=True)
    latency_ms = serializers.IntegerField(allow_null=True)
    error = serializers.CharField(allow_null=True)
    at = serializers.DateTimeField()
    response_body = serializers.CharField(
        help_text='First 2 KiB of the receiver\'s answer; "" if none, '
        "or once 90 days have passed.",  # D24, D36
    )


class DeliveryDoc(serializers.Serializer):
    delivery_id = serializers.UUIDField()
    state = serializers.CharField()
    attempts = serializers.IntegerField()
    next_attempt_at = serializers.DateTimeField(allow_null=True)
    delivered_at = serializers.DateTimeField(allow_null=True)
    abandoned_reason = serializers.CharField(allow_null=True)
    attempt_log = AttemptDoc(many=True)


class EventDoc(serializers.Serializer):
    event_id = serializers.UUIDField()
    type = serializers.ChoiceField(WebhookEvent.Type.values)
    request_id = serializers.UUIDField(allow_null=True)
    sequence = serializers.IntegerField(allow_null=True)
    created_at = serializers.DateTimeField()
    payload = serializers.JSONField()
    deliveries = DeliveryDoc(many=True)


EventPageDoc = page_schema("EventPageDoc", EventDoc)


class TestSentDoc(serializers.Serializer):
    ok = serializers.BooleanField()
    event_id = serializers.UUIDField()
    delivery_id = serializers.UUIDField()


class ResentDoc(TestSentDoc):
    state = serializers.CharField()


class WebhookEndpointApi(JoPayApiView):
    """``GET`` / ``PUT /api/v1/webhooks/endpoint`` (D35)."""

    # spec §7.1: each endpoint (method and path) has its own counter per key.
    rate_groups = {"GET": "webhooks.endpoint", "PUT": "webhooks.endpoint_update"}
    required_scopes = {"GET": None, "PUT": WEBHOOKS_WRITE}

    @extend_schema(
        responses={200: EndpointOutputDoc},
        operation_id="webhooks_endpoint_retrieve",
        summary="Get the webhook endpoint",
    )
    def get(self, request: Request) -> Response:
        return ok(endpoint_output(webhook_endpoint_get(partner=self.tenant.partner)))

    @extend_schema(
        request=EndpointInputDoc,
        responses={200: EndpointOutputDoc},
        operation_id="webhooks_endpoint_update",
        summary="Set the webhook URL or enable/disable it (live key only)",
    )
    def put(self, request: Request) -> Response:
        # D35: one endpoint serves both modes, so only a live key may change it.
        if self.tenant.test_mode:
            raise JoPayError(
                ErrorCode.INSUFFICIENT_SCOPE,
                "Only a live key can change the webhook endpoint: it serves live"
                " and test mode.",
                required_scope=WEBHOOKS_WRITE,
            )
        changes = parse_endpoint_input(json_object_body(request))
        endpoint, secret = webhook_endpoint_set(partner=self.tenant.partner, **changes)
        return ok(endpoint_output(endpoint, new_secret=secret))


class WebhookTestApi(JoPayApiView):
    """``POST /api/v1/webhooks/test``: a ``webhook.test`` event in the key's mode."""

    rate_group = "webhooks.test"
    required_scope = WEBHOOKS_WRITE

    @extend_schema(
        request=None,
        responses={202: TestSentDoc},
        operation_id="webhooks_test",
        summary="Send a webhook.test event",
    )
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

    @extend_schema(
        parameters=list_parameters(
            uuid_parameter("request_id"),
            enum_parameter("type", WebhookEvent.Type.values),
        ),
        responses={200: EventPageDoc},
        operation_id="events_list",
        summary="List events of the last 30 days with their deliveries",
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        limit = parse_limit(params.get("limit"))
        # An empty filter is no filter, as on the other lists.
        request_id = params.get("request_id") or None
        if request_id is not None:
            request_id = parse_uuid(request_id, ErrorCode.INVALID_REQUEST_ID)
        type_ = params.get("type") or None
        if type_ is not None and type_ not in WebhookEvent.Type.values:
            raise JoPayError(ErrorCode.INVALID_REQUEST, field="type")
        qs = event_list(tenant=self.tenant, request_id=request_id, type=type_)
        page = keyset_page(qs, limit=limit, cursor=params.get("cursor") or None)
        return ok(page.envelope([event_output(e) for e in page.items]))


class EventResendApi(JoPayApiView):
    """``POST /api/v1/events/:id/resend``: one more attempt, same ``delivery_id``."""

    rate_group = "events.resend"
    required_scope = WEBHOOKS_WRITE

    @extend_schema(
        request=None,
        responses={202: ResentDoc},
        operation_id="events_resend",
        summary="Queue one more attempt of the event's delivery (same delivery_id)",
    )
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
