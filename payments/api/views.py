"""Requests API (spec §4, D11-D18) and FX rates (D35): thin views over services."""

from __future__ import annotations

import contextlib

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from jopay_project.api import JoPayApiView, ok, parse_uuid
from jopay_project.db import retry_transient
from jopay_project.errors import ErrorCode, JoPayError
from jopay_project.formats import iso
from jopay_project.pagination import Page, keyset_page, parse_limit
from jopay_project.schema import (
    enum_parameter,
    list_parameters,
    page_schema,
    uuid_parameter,
)
from merchants.api.serializers import create_body
from merchants.validation import validate_idempotency_key
from payments.models import PaymentRequest
from payments.selectors import (
    fx_rate_is_stale,
    fx_rates_effective,
    payment_request_create_context,
    payment_request_get,
    payment_request_list,
)
from payments.serializers import payment_request_data
from payments.services.closing import payment_request_cancel
from payments.services.requests import payment_request_create, payment_request_replay

from .schema import (
    FxRateOutput,
    PaymentRequestCreateInput,
    PaymentRequestItemOutput,
    PaymentRequestOutput,
)
from .serializers import (
    create_body_hash,
    parse_create_body,
    parse_list_filters,
    parse_merchant_id,
)

REPLAYED_HEADER = "Idempotent-Replayed"


class PaymentRequestCreateApi(JoPayApiView):
    rate_group = "requests.create"
    required_scope = "requests:write"

    @extend_schema(
        request=PaymentRequestCreateInput,
        responses={201: PaymentRequestOutput, 200: PaymentRequestOutput},
        summary="Create a payment request (idempotent with idempotency_key)",
        operation_id="requests_create",
    )
    def post(self, request: Request) -> Response:
        body = create_body(request)
        key = validate_idempotency_key(body.get("idempotency_key"))
        digest = create_body_hash(body)
        merchant_id = None
        with contextlib.suppress(JoPayError):  # reported below, after a replay
            merchant_id = parse_merchant_id(body.get("merchant_id"))
        context = payment_request_create_context(
            tenant=self.tenant, idempotency_key=key, merchant_id=merchant_id
        )
        if context.replay_hash is not None:
            # D17: a retry of a request that exists answers before any other check,
            # so it replays even if the merchant was disabled since.
            original = payment_request_replay(
                tenant=self.tenant, idempotency_key=key, idempotency_hash=digest
            )
            if original is not None:
                return ok(
                    payment_request_data(original), headers={REPLAYED_HEADER: "true"}
                )
        if merchant_id is None:
            parse_merchant_id(body.get("merchant_id"))  # raises invalid_merchant_id
        if context.merchant is None:
            raise JoPayError(ErrorCode.NOT_FOUND)  # foreign, other mode, missing (D10)
        draft = parse_create_body(
            body,
            merchant=context.merchant,
            partner=self.tenant.partner,
            idempotency_key=key,
            idempotency_hash=digest,
            fx_rate=context.fx_rate,
        )
        # A deadlock victim (two creates crossing on locks) is retried whole.
        created_request, created = retry_transient(
            lambda: payment_request_create(tenant=self.tenant, draft=draft)
        )
        if not created:
            return ok(
                payment_request_data(created_request), headers={REPLAYED_HEADER: "true"}
            )
        return ok(payment_request_data(created_request), status=201)


class PaymentRequestDetailApi(JoPayApiView):
    rate_group = "requests.detail"
    required_scope = "requests:read"

    @extend_schema(
        responses={200: PaymentRequestOutput},
        summary="Get a payment request",
        operation_id="requests_retrieve",
    )
    def get(self, request: Request, request_id: str) -> Response:
        found = payment_request_get(
            tenant=self.tenant,
            request_id=parse_uuid(request_id, ErrorCode.INVALID_REQUEST_ID),
        )
        return ok(payment_request_data(found))


class PaymentRequestListApi(JoPayApiView):
    rate_group = "requests.list"
    required_scope = "requests:read"

    @extend_schema(
        parameters=list_parameters(
            uuid_parameter("merchant_id"),
            enum_parameter("status", PaymentRequest.Status.values),
            enum_parameter("proof_status", PaymentRequest.ProofStatus.values),
            *(
                OpenApiParameter(
                    name,
                    str,
                    required=False,
                    description=f"ISO 8601 date or date-time, {bound}; "
                    "no offset means UTC",
                )
                for name, bound in (
                    ("created_after", "inclusive"),
                    ("created_before", "exclusive"),
                )
            ),
        ),
        responses={200: page_schema("PaymentRequestPage", PaymentRequestItemOutput)},
        summary="List payment requests, newest first (keyset paging)",
        operation_id="requests_list",
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        limit = parse_limit(params.get("limit"))
        queryset = payment_request_list(
            tenant=self.tenant, **parse_list_filters(params)
        )
        page = keyset_page(queryset, limit=limit, cursor=params.get("cursor") or None)
        return ok(page.envelope([payment_request_data(item) for item in page.items]))


class PaymentRequestCancelApi(JoPayApiView):
    rate_group = "requests.cancel"
    required_scope = "requests:write"

    @extend_schema(
        request=None,
        responses={200: PaymentRequestOutput},
        summary="Cancel a payment request (repeat cancel is a no-op)",
        operation_id="requests_cancel",
    )
    def post(self, request: Request, request_id: str) -> Response:
        cancelled = payment_request_cancel(
            tenant=self.tenant,
            request_id=parse_uuid(request_id, ErrorCode.INVALID_REQUEST_ID),
        )
        return ok(payment_request_data(cancelled))


class FxRateListApi(JoPayApiView):
    rate_group = "fx.rates"
    required_scope = "fx:read"

    @extend_schema(
        responses={200: page_schema("FxRateList", FxRateOutput)},
        summary="The partner's effective FX rate for each enabled currency",
        description=(
            "One page holding every enabled currency: `has_more` is always "
            "false and `next_cursor` null."
        ),
        operation_id="fx_rates_list",
    )
    def get(self, request: Request) -> Response:
        partner = self.tenant.partner
        currencies = list(partner.enabled_currencies or [])
        rates = fx_rates_effective(partner, currencies)
        data = []
        for currency in currencies:
            rate = rates[currency]
            data.append(
                {
                    "currency": currency,
                    "rate": format(rate.rate.normalize(), "f") if rate else None,
                    "source": rate.source if rate else None,
                    "fetched_at": iso(rate.fetched_at) if rate else None,
                    "stale": fx_rate_is_stale(rate) if rate else True,
                }
            )
        # D2: the list envelope; every enabled currency fits on one page.
        return ok(Page(items=data, has_more=False, next_cursor=None).envelope(data))
