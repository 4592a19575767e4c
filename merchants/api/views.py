"""Merchants API v1 (spec §5; D10, D17, D28, D34, D35). Thin: parse, call, render."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response

from jopay_project.api import JoPayApiView, ok, parse_uuid
from jopay_project.errors import ErrorCode, JoPayError
from jopay_project.pagination import keyset_page, parse_limit
from jopay_project.schema import enum_parameter, list_parameters
from merchants.models import Merchant
from merchants.onboarding_links import merchant_onboarding_link
from merchants.selectors import (
    merchant_get,
    merchant_idempotency_key_used,
    merchant_list,
)
from merchants.services import merchant_create, merchant_update
from merchants.validation import validate_idempotency_key

from .serializers import (
    MerchantCreateInput,
    MerchantListOutput,
    MerchantOutput,
    MerchantUpdateInput,
    create_body,
    json_object_body,
    merchant_output,
    parse_create,
    parse_update,
)

_BOOL_PARAMS = {"true": True, "false": False}


def _render(merchant: Merchant) -> dict:
    # D35: reading an incomplete merchant whose link was used or expired
    # issues a fresh link, so every read shows a working onboarding_url.
    return merchant_output(merchant, merchant_onboarding_link(merchant=merchant))


class MerchantCollectionApi(JoPayApiView):
    """``POST /api/v1/merchants`` (create) and ``GET /api/v1/merchants`` (list)."""

    rate_groups = {"POST": "merchants.create", "GET": "merchants.list"}
    required_scopes = {"POST": "merchants:write", "GET": "merchants:read"}

    @extend_schema(
        request=MerchantCreateInput,
        responses={201: MerchantOutput, 200: MerchantOutput},
        operation_id="merchants_create",
        summary="Create a merchant (idempotent with idempotency_key)",
    )
    def post(self, request: Request) -> Response:
        data = create_body(request)
        key = validate_idempotency_key(data.get("idempotency_key"))
        try:
            fields, _ = parse_create(data)
        except JoPayError:
            # D17, as on requests and plans: the key's merchant was created
            # from a valid body, so one that fails a field check is another
            # body: idempotency_conflict, not the new body's invalid_*.
            if key is not None and merchant_idempotency_key_used(
                tenant=self.tenant, idempotency_key=key
            ):
                raise JoPayError(ErrorCode.IDEMPOTENCY_CONFLICT) from None
            raise
        result = merchant_create(tenant=self.tenant, fields=fields, idempotency_key=key)
        if result.replayed:  # D5, D17
            return ok(
                _render(result.merchant),
                status=200,
                headers={"Idempotent-Replayed": "true"},
            )
        return ok(_render(result.merchant), status=201)

    @extend_schema(
        parameters=list_parameters(
            enum_parameter("onboarding_status", Merchant.OnboardingStatus.values),
            enum_parameter("disabled", list(_BOOL_PARAMS)),
        ),
        responses={200: MerchantListOutput},
        operation_id="merchants_list",
        summary="List merchants (newest first, keyset cursor)",
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        limit = parse_limit(params.get("limit"))
        # An empty filter is no filter, as on the request and event lists.
        status = params.get("onboarding_status") or None
        if status is not None and status not in Merchant.OnboardingStatus.values:
            raise JoPayError(ErrorCode.INVALID_REQUEST, field="onboarding_status")
        disabled = params.get("disabled") or None
        if disabled is not None and disabled not in _BOOL_PARAMS:
            raise JoPayError(ErrorCode.INVALID_REQUEST, field="disabled")
        qs = merchant_list(
            tenant=self.tenant,
            onboarding_status=status,
            disabled=_BOOL_PARAMS.get(disabled) if disabled else None,
        )
        page = keyset_page(qs, limit=limit, cursor=params.get("cursor"))
        return ok(page.envelope([_render(m) for m in page.items]))


class MerchantDetailApi(JoPayApiView):
    """``GET`` and ``PATCH /api/v1/merchants/:id``."""

    rate_groups = {"GET": "merchants.detail", "PATCH": "merchants.update"}
    required_scopes = {"GET": "merchants:read", "PATCH": "merchants:write"}

    @extend_schema(
        responses={200: MerchantOutput},
        operation_id="merchants_retrieve",
        summary="Get a merchant",
    )
    def get(self, request: Request, merchant_id: str) -> Response:
        pk = parse_uuid(merchant_id, ErrorCode.INVALID_MERCHANT_ID)
        return ok(_render(merchant_get(tenant=self.tenant, merchant_id=pk)))

    @extend_schema(
        request=MerchantUpdateInput,
        responses={200: MerchantOutput},
        operation_id="merchants_update",
        summary="Update a merchant's profile, withdraw address, auto_forward, disabled",
    )
    def patch(self, request: Request, merchant_id: str) -> Response:
        pk = parse_uuid(merchant_id, ErrorCode.INVALID_MERCHANT_ID)
        merchant = merchant_get(tenant=self.tenant, merchant_id=pk)
        changes = parse_update(json_object_body(request))
        return ok(_render(merchant_update(merchant=merchant, changes=changes)))
