"""``/portal/requests/`` and ``/portal/requests/<id>/`` (spec §12.3, D16–D21, D35).

Lists and detail read through ``payments.selectors`` scoped to the portal's
tenant; the three actions call the same services as the API
(``proof_attach`` with source ``merchant`` (D21), ``proof_reverify``,
``payment_request_cancel``) and report refusals as messages with their code.
"""

from __future__ import annotations

import contextlib

from django.contrib import messages
from django.db.models import Prefetch
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from jopay_project import ratelimits
from jopay_project.errors import ErrorCode, JoPayError
from jopay_project.pagination import keyset_page
from merchants.portal.access import (
    over_rate_limit,
    parse_id,
    portal_view,
    report_error,
)
from merchants.portal.present import request_row
from merchants.selectors import merchant_get, merchant_list
from payments.models import Chain, PaymentRequest
from payments.pay.presenters import explorer_link
from payments.proofs.services import proof_attach, proof_reverify
from payments.proofs.services.attach import accepts_proofs
from payments.selectors import (
    payment_request_get,
    payment_request_list,
    proof_chains,
)
from payments.serializers import pay_page_url
from payments.services import payment_request_cancel
from webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEvent

from .forms import AttachProofForm, RequestFilterForm

PAGE_SIZE = 25
# Up to this many merchants the filter is a list of them all, by name; past it
# a text field taking a merchant id (a platform partner may have 100 000).
MERCHANT_CHOICES = 300
PR = PaymentRequest
_BEING_CHECKED = (
    "A transaction is already being checked for this request; "
    "another can be attached if it does not match."
)


def _merchant_filter(tenant, query) -> tuple[list, bool]:
    """The filter's merchants, and whether there are too many to list.

    At most ``MERCHANT_CHOICES + 1`` rows in the tenant's keyset index order
    (``merchant_tenant_keyset``), sorted by name here: ordering the tenant's
    merchants by name in SQL read and sorted all of them on every page view
    (109 ms at 100 k merchants) for a list nobody could use. With too many,
    only the one asked for is read (if it is the tenant's; otherwise the form
    refuses it).
    """
    merchants = list(
        merchant_list(tenant=tenant)
        .select_related(None)
        .only("id", "business_name", "display_name", "created_at")
        .order_by("-created_at", "-id")[: MERCHANT_CHOICES + 1]
    )
    if len(merchants) <= MERCHANT_CHOICES:
        return sorted(merchants, key=lambda m: (m.name.casefold(), str(m.pk))), False
    wanted = str(query.get("merchant") or "").strip()
    found = []
    if wanted:
        with contextlib.suppress(Http404, JoPayError):
            found.append(merchant_get(tenant=tenant, merchant_id=parse_id(wanted)))
    return found, True


@require_GET
@portal_view
def request_list_view(request: HttpRequest) -> HttpResponse:
    tenant = request.tenant
    merchants, by_id = _merchant_filter(tenant, request.GET)
    form = RequestFilterForm(
        request.GET or None, merchants=merchants, merchant_by_id=by_id
    )
    # An invalid filter is ignored, and says why next to itself; the valid
    # ones still apply (dropping them all listed, say, unpaid requests under a
    # status field still saying "paid").
    valid = form.is_valid()  # cleans a bound form: cleaned_data holds the valid
    filters = form.selector_filters() if form.is_bound else {}
    if form.is_bound and not valid:
        messages.error(
            request,
            "Filters marked below were not valid and were ignored; the others apply.",
        )
    try:
        page = keyset_page(
            payment_request_list(tenant=tenant, **filters).select_related("merchant"),
            limit=PAGE_SIZE,
            # Also with an invalid filter: the same filters made the page the
            # cursor came from; without it "Older requests" showed the first
            # page again, for ever.
            cursor=(form.cleaned_data.get("cursor") if form.is_bound else None) or None,
        )
    except JoPayError as err:  # an undecodable cursor
        report_error(request, err)
        return redirect("portal:requests")
    query = request.GET.copy()
    query.pop("cursor", None)
    return render(
        request,
        "portal/requests/list.html",
        {
            "nav": "requests",
            "form": form,
            "page": page,
            "rows": [request_row(pr) for pr in page.items],
            "query": query.urlencode(),
        },
    )


def _timeline(request: HttpRequest, pr: PaymentRequest) -> list[WebhookEvent]:
    """The request's events in ``sequence`` order (D23), each with its deliveries."""
    attempts = WebhookAttempt.objects.order_by("number")
    deliveries = WebhookDelivery.objects.for_tenant(request.tenant).prefetch_related(
        Prefetch("attempt_log", queryset=attempts)
    )
    return list(
        WebhookEvent.objects.for_tenant(request.tenant)
        .filter(request_id=pr.pk)
        .order_by("sequence", "created_at")
        .prefetch_related(Prefetch("deliveries", queryset=deliveries))
    )


def _get(request: HttpRequest, request_id: str) -> PaymentRequest:
    return payment_request_get(tenant=request.tenant, request_id=parse_id(request_id))


@require_GET
@portal_view
def request_detail_view(request: HttpRequest, request_id: str) -> HttpResponse:
    pr = _get(request, request_id)
    chains = proof_chains(test_mode=pr.test_mode)
    proof_chain = Chain.objects.filter(pk=pr.chain_id).first() if pr.chain_id else None
    return render(
        request,
        "portal/requests/detail.html",
        {
            "nav": "requests",
            "pr": pr,
            # Pairs, not the dict: a template's ``metadata.items`` would read a
            # partner's own key "items" (a 500 for {"items": "3 shirts"}).
            "metadata": sorted((pr.metadata or {}).items()),
            "row": request_row(pr),
            "pay_url": pay_page_url(pr),
            "events": _timeline(request, pr),
            # D16: offered only where an attach can succeed (not beside a proof
            # being checked, not after expires_at + grace); else the page says why.
            "can_attach": accepts_proofs(pr, now=timezone.now())
            and pr.proof_status != PR.ProofStatus.ATTACHED,
            "attach_form": AttachProofForm(chains=chains),
            "chains": chains,
            "proof_chain": proof_chain,
            "explorer_url": explorer_link(proof_chain, pr.tx_hash),
        },
    )


@require_POST
@portal_view
def request_attach_view(request: HttpRequest, request_id: str) -> HttpResponse:
    pr = _get(request, request_id)
    # Spec §13.3: 30 proof submissions an hour per merchant, whatever they say
    # (a script pasting hashes would otherwise read the chain without end).
    usage = ratelimits.hit(request, "portal.proof", f"merchant:{pr.merchant_id}")
    if usage.exceeded:
        report_error(request, JoPayError(ErrorCode.RATE_LIMITED))
        return redirect("portal:request-detail", request_id=pr.pk)
    form = AttachProofForm(request.POST)
    form.is_valid()  # never invalid: both fields optional, the service judges
    try:
        proof_attach(
            request=pr,
            chain_id=form.cleaned_data.get("chain_id", ""),
            tx_hash=form.cleaned_data.get("tx_hash", ""),
            source=PR.ProofSource.MERCHANT,
        )
    except JoPayError as err:
        if err.code == ErrorCode.PROOF_NOT_ACCEPTED:
            pr.refresh_from_db(fields=["proof_status"])
            if pr.proof_status == PR.ProofStatus.ATTACHED:
                # A page read before another proof came (D16): refused until
                # that one is judged, not closed for good (as the pay page says).
                err = JoPayError(err.code, _BEING_CHECKED)
        report_error(request, err)
    else:
        messages.success(request, "Transaction attached; verification is running.")
    return redirect("portal:request-detail", request_id=pr.pk)


@require_POST
@portal_view
def request_reverify_view(request: HttpRequest, request_id: str) -> HttpResponse:
    pr = _get(request, request_id)
    if over_rate_limit(request, "requests.reverify"):  # D27, per partner
        return redirect("portal:request-detail", request_id=pr.pk)
    try:
        fresh = proof_reverify(request=pr)
    except JoPayError as err:
        report_error(request, err)
    else:
        messages.success(request, f"Checked again: proof is {fresh.proof_status}.")
    return redirect("portal:request-detail", request_id=pr.pk)


@require_POST
@portal_view
def request_cancel_view(request: HttpRequest, request_id: str) -> HttpResponse:
    pr = _get(request, request_id)
    if over_rate_limit(request, "requests.cancel"):  # D27, per partner
        return redirect("portal:request-detail", request_id=pr.pk)
    try:
        payment_request_cancel(tenant=request.tenant, request_id=pr.pk)
    except JoPayError as err:
        report_error(request, err)
    else:
        messages.success(request, f"Request {pr.reference} is cancelled.")
    return redirect("portal:request-detail", request_id=pr.pk)
