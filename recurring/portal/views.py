"""``/portal/plans/`` and ``/portal/plans/<id>/`` (spec §10, D29, D35).

Reads through ``recurring.selectors`` (tenant-scoped; a foreign, other-mode or
malformed id is the portal's 404, like ``plan_not_found`` on the API);
pause/resume/cancel call the services the API calls.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from jopay_project.errors import JoPayError
from jopay_project.pagination import keyset_page
from merchants.portal.access import parse_id, portal_view, report_error
from payments.money import format_minor
from recurring.limits import plan_operation_count
from recurring.models import Plan
from recurring.selectors import plan_get, plan_list
from recurring.services import plan_cancel, plan_pause, plan_resume

PAGE_SIZE = 25
HISTORY = 50
ACTIONS = {
    "pause": (plan_pause, "Plan paused: no charges until you resume it."),
    "resume": (plan_resume, "Plan resumed; the next charge is scheduled."),
    "cancel": (plan_cancel, "Plan cancelled for good."),
}


@require_GET
@portal_view
def plan_list_view(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status") or None
    if status not in (None, *Plan.Status.values):
        status = None
    try:
        page = keyset_page(
            plan_list(tenant=request.tenant, status=status),
            limit=PAGE_SIZE,
            cursor=request.GET.get("cursor") or None,
        )
    except JoPayError as err:
        report_error(request, err)
        return redirect("portal:plans")
    return render(
        request,
        "portal/plans/list.html",
        {
            "nav": "plans",
            "page": page,
            "status": status or "",
            "statuses": Plan.Status.values,
            "rows": [
                {"plan": p, "amount": format_minor(p.fiat_amount_int, p.fiat_code)}
                for p in page.items
            ],
        },
    )


@require_GET
@portal_view
def plan_detail_view(request: HttpRequest, plan_id: str) -> HttpResponse:
    plan = plan_get(tenant=request.tenant, plan_id=parse_id(plan_id))
    # Newest first, HISTORY a page, keyset on the slot (``charge_plan_slot_unique``):
    # a daily plan's first charges were out of reach after 50 days.
    charges = plan.charges.select_related("payment_request").order_by("-slot")
    before = request.GET.get("before", "")
    if before.isascii() and before.isdigit() and len(before) < 10:
        charges = charges.filter(slot__lt=int(before))
    page = list(charges[: HISTORY + 1])
    return render(
        request,
        "portal/plans/detail.html",
        {
            "nav": "plans",
            "plan": plan,
            "amount": format_minor(plan.fiat_amount_int, plan.fiat_code),
            "charges": page[:HISTORY],
            "older": page[HISTORY - 1].slot if len(page) > HISTORY else None,
        },
    )


@require_POST
@portal_view
def plan_action_view(request: HttpRequest, plan_id: str, action: str) -> HttpResponse:
    if action not in ACTIONS:
        raise Http404
    plan = plan_get(tenant=request.tenant, plan_id=parse_id(plan_id))
    service, done = ACTIONS[action]
    try:
        plan_operation_count(
            request, partner=request.partner, merchant_id=plan.merchant_id
        )  # spec §10.3
        service(tenant=request.tenant, plan_id=plan.pk)
    except JoPayError as err:
        report_error(request, err)
    else:
        messages.success(request, done)
    return redirect("portal:plan-detail", plan_id=plan.pk)
