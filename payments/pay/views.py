"""Pay page views (D22, D32): HTML for people, JSON for the page's own script.

Public and session-less: no login, no CSRF token (``/proof`` is a JSON
endpoint whose only effect is a proof the chain must confirm), every route
rate limited per client IP (D27). HTML routes answer friendly HTML errors;
JSON routes answer the registry envelope, except to the hash form posted by a
browser running no script, which is sent back to the page (303) instead.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import BadRequest, RequestDataTooBig, SuspiciousOperation
from django.http import (
    HttpRequest,
    HttpResponse,
    JsonResponse,
)
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_safe

from jopay_project import ratelimits
from jopay_project.errors import ErrorCode, JoPayError, error_json_response
from jopay_project.parsers import load_json
from payments.models import PaymentRequest
from payments.proofs.services import (
    accepts_proofs,
    chain_for_proof,
    normalize_tx_hash,
    proof_attach,
)

from .noscript import FORM_TYPES, back_to_page, proof_error_message, wants_html
from .presenters import (
    PROOF_ERROR_FIELD,
    find_request,
    pay_context,
    receipt_context,
)

PR = PaymentRequest


def _limited(
    request: HttpRequest, group: str, key: str | None = None
) -> ratelimits.Usage:
    bucket = key or f"ip:{ratelimits.client_ip_hash(request)}"
    return ratelimits.hit(request, group, bucket)


def _html_error(
    request: HttpRequest,
    template: str,
    status: int,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HttpResponse:
    response = render(request, f"pay/{template}", context, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def _html_rate_limited(request: HttpRequest, usage: ratelimits.Usage) -> HttpResponse:
    return ratelimits.html_rate_limited(request, usage)


def _mark_opened(pr: PaymentRequest) -> None:
    """D22: the first view moves requested → opened (conditional UPDATE, race-free)."""
    if pr.status != PR.Status.REQUESTED:
        return  # every later view and status poll: no write
    now = timezone.now()
    if PR.objects.filter(pk=pr.pk, status=PR.Status.REQUESTED).update(
        status=PR.Status.OPENED, opened_at=now, updated_at=now
    ):
        pr.status, pr.opened_at = PR.Status.OPENED, now


@never_cache  # a stale copy would restart the countdown and re-open a closed page
@require_safe  # HEAD answers as GET does, headers only
def pay_page(request: HttpRequest, request_id: str) -> HttpResponse:
    usage = _limited(request, "pay.page")
    if usage.exceeded:
        return _html_rate_limited(request, usage)
    pr = find_request(request_id)
    if pr is None:
        return _html_error(request, "not_found.html", 404)
    if request.method == "GET":  # a HEAD (a link preview's probe) is no view
        _mark_opened(pr)
    context = pay_context(pr, now=timezone.now())
    context["proof_error"] = proof_error_message(request, pr)
    if context["state"] == "verifying" and (
        request.GET.get("proof_error") != ErrorCode.RATE_LIMITED
    ):
        # A refusal from before the proof now checked (the URL the verifying
        # page refreshes keeps it) is stale; a wait is read from the counters.
        context["proof_error"] = None
    # The field the refusal is about is marked invalid (no-script form too).
    context["proof_error_field"] = PROOF_ERROR_FIELD.get(
        request.GET.get("proof_error", "")
    )
    return render(request, "pay/page.html", context)


@never_cache
# Read-only JSON: every other method is a JSON 405 with no effect. Without the
# exemption Django's CSRF check answered such a POST first, with an HTML 403.
@csrf_exempt
def pay_status(request: HttpRequest, request_id: str) -> JsonResponse:
    if request.method != "GET":
        return error_json_response(
            ErrorCode.METHOD_NOT_ALLOWED, headers={"Allow": "GET"}
        )
    usage = _limited(request, "pay.status")
    if usage.exceeded:
        return _error(_rate_limited(usage))
    pr = find_request(request_id)
    if pr is None:
        return error_json_response(ErrorCode.NOT_FOUND)
    return JsonResponse(
        {
            "ok": True,
            "status": pr.status,
            "proof_status": pr.proof_status,
            "mismatch_reason": pr.mismatch_reason,
            "tx_hash": pr.tx_hash,
        }
    )


def _proof_body(request: HttpRequest) -> dict[str, Any]:
    """JSON object or form fields (D32); anything else → ``invalid_body``.

    D34: an empty body (no JSON at all, a form with no fields) is
    ``invalid_body`` too; a JSON object or form without ``tx_hash`` is not
    empty and answers the field's own code.
    """
    content_type = request.content_type or ""
    if content_type == "application/json":
        try:
            # ValueError covers malformed, not UTF-8 and nested too deeply.
            body = load_json(request.body)
        except (ValueError, RequestDataTooBig):
            raise JoPayError(ErrorCode.INVALID_BODY) from None
        if not isinstance(body, dict):
            raise JoPayError(ErrorCode.INVALID_BODY)
        return body
    if content_type in FORM_TYPES:
        try:
            form = request.POST
        # No boundary, too big, or a charset other than UTF-8 (BadRequest).
        except (MultiPartParserError, SuspiciousOperation, BadRequest):
            raise JoPayError(ErrorCode.INVALID_BODY) from None
        if not form:
            raise JoPayError(ErrorCode.INVALID_BODY)
        return {k: form.get(k) for k in ("tx_hash", "chain_id") if k in form}
    raise JoPayError(ErrorCode.INVALID_BODY)


@csrf_exempt
def pay_proof(request: HttpRequest, request_id: str) -> HttpResponse:
    if request.method != "POST":
        return error_json_response(
            ErrorCode.METHOD_NOT_ALLOWED, headers={"Allow": "POST"}
        )
    html = wants_html(request)
    try:
        proof_status = _proof_submit(request, request_id)
    except JoPayError as exc:
        if not html:
            return _error(exc)
        if exc.extra.get("proof_status") == PR.ProofStatus.ATTACHED:
            return back_to_page(request_id)  # the page shows the check under way
        return back_to_page(request_id, exc.code, exc.headers)
    if html:
        return back_to_page(request_id)
    return JsonResponse({"ok": True, "proof_status": proof_status}, status=202)


def _proof_submit(request: HttpRequest, request_id: str) -> str:
    """Rate limit, parse and attach a customer's proof; its ``proof_status``.

    Every refusal is a ``JoPayError`` carrying its envelope's extras.
    """
    usage = _limited(request, "pay.proof")
    if usage.exceeded:
        raise _rate_limited(usage)
    pr = find_request(request_id)
    if pr is None:
        raise JoPayError(ErrorCode.NOT_FOUND)
    tx_hash, chain_id = _proof_fields(_proof_body(request))
    # Refusals that need no lock answer before the request's own counter: a
    # chain the request's mode does not take (ten of those from ten addresses
    # locked the customer's form for an hour), or a request that takes no proof.
    chain_for_proof(chain_id=chain_id, test_mode=pr.test_mode)
    if not accepts_proofs(pr, now=timezone.now()):
        raise JoPayError(ErrorCode.PROOF_NOT_ACCEPTED)
    # D27: 10/h per request as well, so one page cannot be hammered from many IPs.
    # Charged only for well-formed submissions: junk from anyone holding the link
    # (the per-IP counter above still counts it) must not lock the customer's
    # hash form for an hour.
    usage = _limited(request, "pay.proof_request", key=f"request:{pr.pk}")
    if usage.exceeded:
        raise _rate_limited(usage)
    try:
        attached = proof_attach(
            request=pr,
            chain_id=chain_id,
            tx_hash=tx_hash,
            source=PR.ProofSource.CUSTOMER,
        )
    except JoPayError as exc:
        if exc.code == ErrorCode.PROOF_NOT_ACCEPTED:
            pr.refresh_from_db(fields=["proof_status"])
            if pr.proof_status == PR.ProofStatus.ATTACHED:
                # Refused because another hash is being checked, not because the
                # request is closed: say so (the page tells the customer to wait).
                raise JoPayError(
                    exc.code, _BEING_CHECKED, proof_status=pr.proof_status
                ) from exc
        raise
    return attached.proof_status


def _rate_limited(usage: ratelimits.Usage) -> JoPayError:
    return JoPayError(
        ErrorCode.RATE_LIMITED,
        retry_after=usage.reset,
        headers={"Retry-After": str(usage.reset)},
    )


_BEING_CHECKED = "A transaction is already being checked for this request."


def _error(exc: JoPayError) -> JsonResponse:
    return error_json_response(exc.code, exc.message, headers=exc.headers, **exc.extra)


def _proof_fields(body: dict[str, Any]) -> tuple[str, int]:
    """The shape checks of a proof body: a well-formed hash and an integer chain id.

    Raises ``invalid_tx_hash`` (missing too, D34), ``invalid_request`` with
    ``field`` for a missing ``chain_id`` (D34), or ``unsupported_chain`` for one
    that is not a number; whether the chain is accepted is ``proof_attach``'s call.
    """
    tx_hash = normalize_tx_hash(body.get("tx_hash"))
    raw = body.get("chain_id")
    if raw in (None, ""):
        raise JoPayError(ErrorCode.INVALID_REQUEST, field="chain_id")
    if isinstance(raw, bool):
        raise JoPayError(ErrorCode.UNSUPPORTED_CHAIN)
    try:
        return tx_hash, int(str(raw).strip())
    except ValueError:
        raise JoPayError(ErrorCode.UNSUPPORTED_CHAIN) from None


@never_cache
@require_safe
def pay_receipt(request: HttpRequest, request_id: str) -> HttpResponse:
    usage = _limited(request, "pay.page")
    if usage.exceeded:
        return _html_rate_limited(request, usage)
    pr = find_request(request_id)
    if pr is None or pr.proof_status != PR.ProofStatus.VERIFIED:
        # spec §13.5: a receipt exists only after verification.
        return _html_error(request, "not_found.html", 404, receipt=True)
    return render(request, "pay/receipt.html", receipt_context(pr))


__all__ = ["pay_page", "pay_proof", "pay_receipt", "pay_status"]
