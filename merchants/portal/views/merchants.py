"""``/portal/merchants/`` and ``/portal/merchants/<id>/`` (spec §12.3, D28, D35).

Reads go through ``merchants.selectors`` (tenant-scoped: another partner's or
the other mode's merchant is a 404); writes through ``merchant_update`` and
``merchant_onboarding_link``.
"""

from __future__ import annotations

from django.contrib import messages
from django.db.models import Q
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from jopay_project.errors import JoPayError
from jopay_project.formats import parse_uuid_text
from jopay_project.pagination import keyset_page
from merchants.onboarding_links import merchant_onboarding_link
from merchants.selectors import merchant_get, merchant_list
from merchants.services import merchant_update
from payments.selectors import payment_request_list

from ..access import parse_id, portal_view, report_error
from ..forms import MerchantNameForm, MerchantSearchForm
from ..present import request_row

PAGE_SIZE = 25
RECENT_REQUESTS = 10


def _search(qs, q: str):
    q = q.strip()
    if not q:
        return qs
    try:
        return qs.filter(pk=parse_uuid_text(q))
    except ValueError:
        return qs.filter(
            Q(business_name__icontains=q)
            | Q(display_name__icontains=q)
            | Q(email__icontains=q)
        )


@require_GET
@portal_view
def merchant_list_view(request: HttpRequest) -> HttpResponse:
    form = MerchantSearchForm(request.GET)
    if not form.is_valid() and "q" in form.errors:
        # Too long, or a NUL: nothing can match. Say so and list nothing,
        # rather than dropping the search and listing every merchant.
        messages.error(
            request,
            "The search was not valid (at most 120 characters, no NUL "
            "character), so nothing is listed.",
        )
        q = "".join(c for c in str(request.GET.get("q", "")) if c.isprintable())
        page = keyset_page(
            merchant_list(tenant=request.tenant).none(), limit=PAGE_SIZE, cursor=None
        )
        return render(
            request,
            "portal/merchants/list.html",
            {"nav": "merchants", "form": form, "page": page, "q": q},
        )
    q = form.cleaned_data.get("q", "")
    try:
        page = keyset_page(
            _search(merchant_list(tenant=request.tenant), q),
            limit=PAGE_SIZE,
            cursor=form.cleaned_data.get("cursor") or None,
        )
    except JoPayError as err:  # a cursor that does not decode: start over
        report_error(request, err)
        return redirect("portal:merchants")
    return render(
        request,
        "portal/merchants/list.html",
        {"nav": "merchants", "form": form, "page": page, "q": q},
    )


@require_GET
@portal_view
def merchant_detail_view(request: HttpRequest, merchant_id: str) -> HttpResponse:
    merchant = merchant_get(tenant=request.tenant, merchant_id=parse_id(merchant_id))
    # D35: an incomplete merchant's link is shown while valid, else renewed.
    link = merchant_onboarding_link(merchant=merchant)
    requests = payment_request_list(
        tenant=request.tenant, merchant_id=merchant.pk
    ).order_by("-created_at", "-id")[:RECENT_REQUESTS]
    return render(
        request,
        "portal/merchants/detail.html",
        {
            "nav": "merchants",
            "merchant": merchant,
            "onboarding_link": link,
            "requests": [request_row(pr) for pr in requests],
            "name_form": MerchantNameForm(
                initial={"display_name": merchant.display_name}
            ),
        },
    )


@require_POST
@portal_view
def merchant_rename_view(request: HttpRequest, merchant_id: str) -> HttpResponse:
    merchant = merchant_get(tenant=request.tenant, merchant_id=parse_id(merchant_id))
    form = MerchantNameForm(request.POST)
    if not form.is_valid():
        for error in form.errors.get("display_name", []):  # what is wrong with it
            messages.error(request, error)
    else:
        try:
            merchant_update(
                merchant=merchant,
                changes={"display_name": form.cleaned_data["display_name"]},
            )
        except JoPayError as err:
            report_error(request, err)
        else:
            messages.success(request, "Display name saved.")
    return redirect("portal:merchant-detail", merchant_id=merchant.pk)


@require_POST
@portal_view
def merchant_disable_view(request: HttpRequest, merchant_id: str) -> HttpResponse:
    """``disabled=1`` disables, ``disabled=0`` enables (D28: no new requests)."""
    merchant = merchant_get(tenant=request.tenant, merchant_id=parse_id(merchant_id))
    choice = request.POST.get("disabled")
    if choice not in ("0", "1"):
        # Anything else (a missing field) enabled the merchant by default.
        return HttpResponseBadRequest("disabled must be 0 or 1")
    disabled = choice == "1"
    try:
        merchant_update(merchant=merchant, changes={"disabled": disabled})
    except JoPayError as err:
        report_error(request, err)
    else:
        messages.success(
            request,
            f"{merchant.name} is disabled: it cannot take new payment requests."
            if disabled
            else f"{merchant.name} is enabled again.",
        )
    return redirect("portal:merchant-detail", merchant_id=merchant.pk)
