"""``/portal/webhooks/``: endpoint URL, switch, secret, rotation, test, delivery log.

The endpoint is the partner's one endpoint for both modes (spec §3, D35); the
log shows the portal's current mode only (D10). Every change goes through
``webhooks.services`` with the API's guarantees (D24–D26). Secrets are shown
only after an explicit POST (reveal, rotate, first enable), never in a plain
GET page.

Those POSTs answer with a redirect (post/redirect/get); ``reveal`` parks the
secret for the one GET that follows.
"""

from __future__ import annotations

import json

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from jopay_project.errors import ErrorCode, JoPayError
from jopay_project.pagination import keyset_page
from merchants.audit import audit_record
from merchants.portal.access import (
    over_rate_limit,
    parse_id,
    portal_view,
    report_error,
)
from webhooks.models import WebhookDelivery
from webhooks.selectors import event_find, event_list, webhook_endpoint_get
from webhooks.services import (
    StaleRotationError,
    event_resend,
    webhook_delivery_resend,
    webhook_endpoint_set,
    webhook_rotation_confirm,
    webhook_secret_rotate,
    webhook_test_send,
)
from webhooks.services.endpoints import rotation_token

from .forms import WebhookUrlForm
from .reveal import REVEALED_COOKIE, reveal_redirect, take_revealed

LOG_PAGE_SIZE = 20
TEST_RATE_GROUP = "webhooks.test"  # D27: 5/min, here per partner


def _page(
    request: HttpRequest,
    *,
    form: WebhookUrlForm | None = None,
    status: int = 200,
) -> HttpResponse:
    endpoint = webhook_endpoint_get(partner=request.partner)
    revealed = take_revealed(request) if request.method == "GET" else None
    try:
        log = keyset_page(
            event_list(tenant=request.tenant),
            limit=LOG_PAGE_SIZE,
            cursor=request.GET.get("cursor") or None,
        )
    except JoPayError:  # a cursor that does not decode: show the first page
        log = keyset_page(
            event_list(tenant=request.tenant), limit=LOG_PAGE_SIZE, cursor=None
        )
    for event in log.items:
        event.payload_json = payload_json(event.payload)
    response = render(
        request,
        "portal/webhooks.html",
        {
            "nav": "webhooks",
            # The answer to POSTs too: the mode switch returns to the GET page.
            "mode_next": reverse("portal:webhooks"),
            "endpoint": endpoint,
            "rotation_token": rotation_token(endpoint) if endpoint else "",
            "form": form
            or WebhookUrlForm(initial={"url": endpoint.url if endpoint else ""}),
            "revealed": revealed,
            "log": log,
            "slow_seconds": settings.JOPAY_WEBHOOK_SLOW_SECONDS,
        },
        status=status,
    )
    if request.method == "GET" and REVEALED_COOKIE in request.COOKIES:
        response.delete_cookie(
            REVEALED_COOKIE, path=reverse("portal:webhooks"), samesite="Strict"
        )
    return response


def payload_json(payload: dict) -> str:
    """The payload as the receiver gets it (JSON), indented for reading."""
    return json.dumps(payload, indent=2, sort_keys=True)


@require_GET
@portal_view
def webhooks_view(request: HttpRequest) -> HttpResponse:
    return _page(request)


@require_POST
@portal_view
def webhook_url_view(request: HttpRequest) -> HttpResponse:
    if over_rate_limit(request, "webhooks.endpoint_update"):  # D27, per partner
        return redirect("portal:webhooks")
    form = WebhookUrlForm(request.POST)
    if not form.is_valid():
        return _page(request, form=form, status=400)
    url = form.cleaned_data["url"].strip()
    try:
        webhook_endpoint_set(partner=request.partner, url=url)
    except JoPayError as err:
        form.add_error("url", err.message)  # the banner above carries the code
        report_error(request, err)
        return _page(request, form=form, status=400)
    messages.success(
        request, "Webhook URL saved." if url else "Webhook URL removed; sending is off."
    )
    return redirect("portal:webhooks")


@require_POST
@portal_view
def webhook_enabled_view(request: HttpRequest) -> HttpResponse:
    """``enabled=1`` turns sending on, ``enabled=0`` off (pending deliveries go)."""
    choice = request.POST.get("enabled")
    if choice not in ("0", "1"):
        # A missing field turned sending off and abandoned every pending delivery.
        return HttpResponseBadRequest("enabled must be 0 or 1")
    enabled = choice == "1"
    try:
        _, new_secret = webhook_endpoint_set(partner=request.partner, enabled=enabled)
    except JoPayError as err:
        report_error(request, err)
        return redirect("portal:webhooks")
    if not enabled:
        messages.success(
            request, "Webhooks are off; pending deliveries were abandoned."
        )
        return redirect("portal:webhooks")
    messages.success(request, "Webhooks are on. Events from now on are delivered.")
    if new_secret:
        messages.info(request, "This is your signing secret; it is also under Reveal.")
        return reveal_redirect(request, new_secret)
    return redirect("portal:webhooks")


@require_POST
@portal_view
def webhook_secret_view(request: HttpRequest) -> HttpResponse:
    endpoint = webhook_endpoint_get(partner=request.partner)
    if endpoint is None or not endpoint.secret:
        report_error(request, JoPayError(ErrorCode.WEBHOOK_NOT_CONFIGURED))
        return redirect("portal:webhooks")
    audit_record(partner=request.partner, action="webhook.secret_revealed")
    return reveal_redirect(request, endpoint.secret, endpoint.previous_secret)


@require_POST
@portal_view
def webhook_rotate_view(request: HttpRequest) -> HttpResponse:
    before = webhook_endpoint_get(partner=request.partner)
    try:
        new_secret = webhook_secret_rotate(partner=request.partner)
    except JoPayError as err:
        report_error(request, err)
        return redirect("portal:webhooks")
    if before is not None and before.rotation_pending and before.secret == new_secret:
        # D25: the pending rotation's new secret stands; "created" told a partner
        # rotating away from that secret (leaked) it was gone. It still signs.
        messages.warning(
            request,
            "A rotation is already pending: this is its new secret, unchanged. "
            "To replace it, confirm the rotation, then rotate again.",
        )
    else:
        messages.success(
            request,
            "New secret created. Both secrets sign every delivery until you "
            "confirm the rotation.",
        )
    return reveal_redirect(request, new_secret)


@require_POST
@portal_view
def webhook_rotation_confirm_view(request: HttpRequest) -> HttpResponse:
    try:
        webhook_rotation_confirm(
            partner=request.partner, token=request.POST.get("rotation", "")
        )
    except JoPayError as err:
        report_error(request, err)
    except StaleRotationError:
        messages.error(
            request,
            "The pending rotation changed after you opened this page (another "
            "user of your account confirmed it and rotated again): nothing was "
            "confirmed. Check which secret your receiver uses, then confirm on "
            "the reloaded page.",
        )
    else:
        messages.success(request, "Rotation confirmed: only the new secret signs now.")
    return redirect("portal:webhooks")


@require_POST
@portal_view
def webhook_test_view(request: HttpRequest) -> HttpResponse:
    if over_rate_limit(request, TEST_RATE_GROUP):
        return redirect("portal:webhooks")
    try:
        webhook_test_send(partner=request.partner, test_mode=request.tenant.test_mode)
    except JoPayError as err:
        report_error(request, err)
    else:
        messages.success(request, "Test event queued; it appears in the log below.")
    return redirect("portal:webhooks")


@require_POST
@portal_view
def webhook_resend_view(request: HttpRequest, delivery_id: str) -> HttpResponse:
    delivery = (
        WebhookDelivery.objects.for_tenant(request.tenant)
        .filter(pk=parse_id(delivery_id))
        .first()
    )
    if delivery is None:
        raise Http404
    if over_rate_limit(request, "events.resend"):  # D27, per partner
        return redirect("portal:webhooks")
    try:
        webhook_delivery_resend(delivery=delivery)
    except JoPayError as err:
        report_error(request, err)
    else:
        messages.success(request, "Delivery queued again with the same delivery id.")
    return redirect("portal:webhooks")


@require_POST
@portal_view
def webhook_event_send_view(request: HttpRequest, event_id: str) -> HttpResponse:
    """Send an event that has no delivery yet (it happened while sending was off)."""
    # The last 30 days, as the log lists them (D35/D36): older is missing.
    event = event_find(tenant=request.tenant, event_id=parse_id(event_id))
    if event is None:
        raise Http404
    if over_rate_limit(request, "events.resend"):  # D27, per partner
        return redirect("portal:webhooks")
    try:
        event_resend(event=event)
    except JoPayError as err:
        report_error(request, err)
    else:
        messages.success(request, "Event queued for delivery.")
    return redirect("portal:webhooks")
