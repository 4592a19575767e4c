"""The hash form for a browser running no script (D32): a plain form post is
answered with a 303 back to the pay page, whose ``?proof_error=<code>`` the
page then shows in the customer's words."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse

from jopay_project import ratelimits
from jopay_project.errors import ErrorCode
from payments.models import PaymentRequest

from .presenters import PROOF_ERROR_TEXT, RATE_LIMITED_WAIT_TEXT, wait_in_words

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def wants_html(request: HttpRequest) -> bool:
    """A plain form post from a browser running no script (it prefers HTML).

    The page's script posts JSON with ``Accept: application/json``; API
    clients send ``*/*`` or nothing: both keep the JSON answers of D32.
    """
    return (request.content_type or "") in FORM_TYPES and request.get_preferred_type(
        ["application/json", "text/html"]
    ) == "text/html"


def back_to_page(
    request_id: str, code: ErrorCode | None = None, headers: dict | None = None
) -> HttpResponse:
    """303 to the pay page, which shows ``code``'s message (no-script form).

    ``headers`` are the refusal's own: a ``rate_limited`` one keeps its
    ``Retry-After`` (D27), as the JSON answer does.
    """
    url = reverse("pay:page", args=[request_id])
    if code is not None:
        url += f"?proof_error={code}"
    response = HttpResponseRedirect(url, status=303)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


# The refusals ``pay_proof`` can redirect with that have no words of their own
# (``PROOF_ERROR_TEXT``): they show the registry's message.
_PROOF_ERROR_REGISTRY = (ErrorCode.INVALID_BODY, ErrorCode.INVALID_REQUEST)


def proof_error_message(request: HttpRequest, pr: PaymentRequest) -> str | None:
    """The message for ``?proof_error=<code>`` (the no-script form's redirect):
    the customer's words, as the script shows them, not the API's.

    Only codes the proof form answers: anyone can link to the page with a
    query, and any other registry code ("merchant not ready", "FX rate
    unavailable") showed its fixed message on the merchant's page.
    ``rate_limited`` says how long to wait, read from the counters (not from
    the link, which a reload or bookmark keeps): nothing once the wait is over.
    """
    code = request.GET.get("proof_error", "")
    if code == ErrorCode.RATE_LIMITED:
        wait = _proof_wait(request, pr)
        return None if wait is None else RATE_LIMITED_WAIT_TEXT.format(wait=wait)
    if code in PROOF_ERROR_TEXT:
        return PROOF_ERROR_TEXT[code]
    if code in _PROOF_ERROR_REGISTRY:
        return ErrorCode(code).message
    return None  # none, unknown, hand-made or not the form's: say nothing


def _proof_wait(request: HttpRequest, pr: PaymentRequest) -> str | None:
    """How long until this client may submit a hash for ``pr`` again, in words,
    or None if it may now: a peek at both D27 proof counters (nothing counted)."""
    counters = (
        ("pay.proof", f"ip:{ratelimits.client_ip_hash(request)}"),
        ("pay.proof_request", f"request:{pr.pk}"),
    )
    usages = [ratelimits.hit(request, g, k, increment=False) for g, k in counters]
    waits = [usage.reset for usage in usages if usage.exceeded]
    return wait_in_words(max(waits)) if waits else None
