"""Plan reads. API and portal code reaches plans only through the tenant (D10)."""

from __future__ import annotations

import uuid

from django.db.models import Prefetch, QuerySet

from jopay_project.errors import ErrorCode, JoPayError
from jopay_project.tenancy import Tenant

from .models import Charge, Plan

RECENT_CHARGES = 10


def _with_recent_charges(qs: QuerySet[Plan]) -> QuerySet[Plan]:
    # A sliced prefetch (a window function per plan): a list page costs two
    # queries however many charges its plans have.
    recent = Charge.objects.order_by("-slot")[:RECENT_CHARGES]
    return qs.select_related("merchant").prefetch_related(
        Prefetch("charges", queryset=recent, to_attr="recent_charges")
    )


def plan_get(*, tenant: Tenant, plan_id: uuid.UUID) -> Plan:
    """The tenant's plan with its recent charges, else ``plan_not_found`` (D35):
    foreign, other-mode and missing ids answer alike."""
    plan = (
        _with_recent_charges(Plan.objects.for_tenant(tenant)).filter(pk=plan_id).first()
    )
    if plan is None:
        raise JoPayError(ErrorCode.PLAN_NOT_FOUND)
    return plan


def plan_list(
    *, tenant: Tenant, status: str | None = None, merchant_id: uuid.UUID | None = None
) -> QuerySet[Plan]:
    """The tenant's plans, optionally filtered; order is the pager's business."""
    qs = _with_recent_charges(Plan.objects.for_tenant(tenant))
    if status is not None:
        qs = qs.filter(status=status)
    if merchant_id is not None:
        qs = qs.filter(merchant_id=merchant_id)
    return qs


def plan_recent_charges(plan: Plan) -> list[Charge]:
    """Newest first; uses the prefetch of ``plan_get``/``plan_list`` when present."""
    prefetched = getattr(plan, "recent_charges", None)
    if prefetched is not None:
        return list(prefetched)
    return list(plan.charges.order_by("-slot")[:RECENT_CHARGES])
