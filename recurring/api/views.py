"""Recurring plans API v1 (D29, D35): thin views over services and selectors.

Every plan route answers ``plan_not_found`` (404) for a malformed, unknown,
foreign or other-mode id alike, byte for byte (D35).
"""

from __future__ import annotations

import uuid

from drf_spectacular.utils import (
    extend_schema,
    extend_schema_view,
)
from rest_framework.request import Request
from rest_framework.response import Response

from jopay_project import ratelimits
from jopay_project.api import JoPayApiView, ok, parse_uuid
from jopay_project.errors import ErrorCode, JoPayError
from jopay_project.pagination import keyset_page, parse_limit
from jopay_project.schema import (
    enum_parameter,
    list_parameters,
    page_schema,
    uuid_parameter,
)
from merchants.api.serializers import create_body
from merchants.selectors import merchant_get
from merchants.validation import validate_idempotency_key
from payments.api.serializers import parse_merchant_id
from recurring.limits import (
    plan_operation_count,
    plan_operation_hit,
    plan_operation_refusal,
)
from recurring.models import Plan
from recurring.selectors import plan_get, plan_list, plan_recent_charges
from recurring.services import (
    plan_cancel,
    plan_create_or_replay,
    plan_pause,
    plan_replay,
    plan_resume,
)

from .schema import PlanCreateInputDoc, PlanItemOutputDoc, PlanOutputDoc
from .serializers import (
    create_body_hash,
    parse_create,
    parse_list_filters,
)
from .serializers import plan_output as _plan_output

REPLAYED_HEADER = "Idempotent-Replayed"


def _render(plan: Plan) -> dict:
    return _plan_output(plan, plan_recent_charges(plan))


def _plan_id(raw: str) -> uuid.UUID:
    # D35: a malformed id is just another plan that does not exist.
    return parse_uuid(raw, ErrorCode.PLAN_NOT_FOUND)


class PlanCollectionApi(JoPayApiView):
    """``POST /api/v1/recurring/plans`` (create) and ``GET`` (list)."""

    rate_groups = {"POST": "plans.create", "GET": "plans.list"}
    required_scopes = {"POST": "recurring:write", "GET": "recurring:read"}

    @extend_schema(
        request=PlanCreateInputDoc,
        responses={201: PlanOutputDoc, 200: PlanOutputDoc},
        summary="Create a recurring plan (idempotent with idempotency_key)",
        operation_id="recurring_plans_create",
    )
    def post(self, request: Request) -> Response:
        body = create_body(request)
        key = validate_idempotency_key(body.get("idempotency_key"))
        if key is not None:
            # D17, as on requests: a retry of a plan that exists answers before
            # any field check, so another body is idempotency_conflict (not the
            # new body's invalid_* or not_found) and the same body replays.
            original = plan_replay(
                tenant=self.tenant,
                idempotency_key=key,
                idempotency_hash=create_body_hash(body),
                customer_wallet=body.get("customer_wallet"),
                hash_with_wallet=lambda wallet: create_body_hash(
                    {**body, "customer_wallet": wallet}
                ),
            )
            if original is not None:
                return ok(_render(original), headers={REPLAYED_HEADER: "true"})
        merchant = merchant_get(
            tenant=self.tenant, merchant_id=parse_merchant_id(body.get("merchant_id"))
        )
        fields = parse_create(body)
        budget = plan_operation_hit(
            request._request, partner=self.tenant.partner, merchant_id=merchant.pk
        )  # spec §10.3
        refusal = plan_operation_refusal(budget) if budget.exceeded else None
        try:
            if refusal is not None and key is None:
                raise refusal
            result = plan_create_or_replay(
                partner=self.tenant.partner,
                test_mode=self.tenant.test_mode,
                merchant=merchant,
                idempotency_key=key,
                # D17: a retry racing its original (not committed when the
                # replay above looked) is still its replay, over the budget or
                # not; only a new plan is refused.
                refuse_new=refusal,
                **fields.as_kwargs(),
            )
        except JoPayError as exc:
            if exc is refusal:  # its headers describe the merchant's window
                request._request.jopay_rate_usage = budget
            raise
        if result.replayed:  # D5, D17: a replay is no operation (spec §10.3)
            ratelimits.take_back(budget)
            return ok(_render(result.plan), headers={REPLAYED_HEADER: "true"})
        return ok(_render(result.plan), status=201)

    @extend_schema(
        parameters=list_parameters(
            enum_parameter("status", Plan.Status.values),
            uuid_parameter("merchant_id"),
        ),
        responses={200: page_schema("PlanPage", PlanItemOutputDoc)},
        summary="List recurring plans, newest first",
        operation_id="recurring_plans_list",
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        limit = parse_limit(params.get("limit"))
        qs = plan_list(tenant=self.tenant, **parse_list_filters(params))
        page = keyset_page(qs, limit=limit, cursor=params.get("cursor"))
        return ok(page.envelope([_render(plan) for plan in page.items]))


class PlanDetailApi(JoPayApiView):
    rate_group = "plans.detail"
    required_scope = "recurring:read"

    @extend_schema(
        responses={200: PlanOutputDoc},
        summary="Get a recurring plan",
        operation_id="recurring_plans_get",
    )
    def get(self, request: Request, plan_id: str) -> Response:
        return ok(_render(plan_get(tenant=self.tenant, plan_id=_plan_id(plan_id))))


class _PlanActionApi(JoPayApiView):
    """``POST /api/v1/recurring/plans/:id/<action>``: answers the plan after it."""

    required_scope = "recurring:write"  # each action its own counter (D27)
    service = staticmethod(plan_pause)

    def post(self, request: Request, plan_id: str) -> Response:
        pk = _plan_id(plan_id)
        plan = plan_get(tenant=self.tenant, plan_id=pk)
        plan_operation_count(
            request._request, partner=self.tenant.partner, merchant_id=plan.merchant_id
        )  # spec §10.3
        self.service(tenant=self.tenant, plan_id=pk)
        return ok(_render(plan_get(tenant=self.tenant, plan_id=pk)))


@extend_schema_view(
    post=extend_schema(
        request=None,
        responses={200: PlanOutputDoc},
        summary="Pause an active plan",
        operation_id="recurring_plans_pause",
    )
)
class PlanPauseApi(_PlanActionApi):
    rate_group = "plans.pause"
    service = staticmethod(plan_pause)


@extend_schema_view(
    post=extend_schema(
        request=None,
        responses={200: PlanOutputDoc},
        summary="Resume a paused plan at its next slot",
        operation_id="recurring_plans_resume",
    )
)
class PlanResumeApi(_PlanActionApi):
    rate_group = "plans.resume"
    service = staticmethod(plan_resume)


@extend_schema_view(
    post=extend_schema(
        request=None,
        responses={200: PlanOutputDoc},
        summary="Cancel a plan for good",
        operation_id="recurring_plans_cancel",
    )
)
class PlanCancelApi(_PlanActionApi):
    rate_group = "plans.cancel"
    service = staticmethod(plan_cancel)
