"""``/portal/api-keys/``: create, list, change scopes, revoke (spec §2.2, §2.4,
D6–D8, D35).

The full key exists only in the create answer: it is parked for exactly one
page view (taken when shown), so a reload never shows it again and never
creates a second key (post/redirect/get). It is parked in two halves, so no
server store ever holds it (D6: only its hash is kept): the session keeps the
key XOR a random pad of its length, the browser keeps the pad in a short-lived
cookie that only the keys page receives. Neither half alone is the key.
"""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from jopay_project.errors import ErrorCode, JoPayError
from merchants.keys import api_key_create, api_key_revoke, api_key_scopes_update
from merchants.models import ApiKey

from ..access import parse_id, portal_view, report_error
from ..forms import ApiKeyCreateForm, ApiKeyScopesForm
from ..sealing import redirect_with_pad, seal, unseal

SESSION_NEW_KEY = "portal_new_key"
NEW_KEY_COOKIE = "jopay_new_key_pad"
NEW_KEY_SECONDS = 600  # the redirect is followed at once; a stale half expires


def _unseal_key(sealed: object, pad: str | None) -> str | None:
    key = unseal(sealed, pad)
    return key if key is not None and key.startswith("jo_") else None


def _take_new_key(request: HttpRequest) -> dict | None:
    """The key created just before, for this one view (both halves are taken)."""
    parked = request.session.pop(SESSION_NEW_KEY, None)
    if not isinstance(parked, dict):
        return None
    key = _unseal_key(parked.pop("sealed", None), request.COOKIES.get(NEW_KEY_COOKIE))
    if key is None:
        messages.warning(
            request,
            "The new key can no longer be shown here (it is shown once, in the "
            "browser that created it). Revoke it and create another.",
        )
        return None
    return {**parked, "key": key}


def _key_for(request: HttpRequest, key_id: uuid.UUID) -> ApiKey:
    """The partner's key in the portal's current mode, else 404 (D10)."""
    key = ApiKey.objects.filter(
        partner=request.partner, test_mode=request.tenant.test_mode, pk=key_id
    ).first()
    if key is None:
        raise Http404
    return key


def _page(request: HttpRequest, form: ApiKeyCreateForm, *, status: int = 200):
    keys = list(
        ApiKey.objects.filter(
            partner=request.partner, test_mode=request.tenant.test_mode
        ).order_by("-created_at")
    )
    now = timezone.now()
    for key in keys:
        # Only a usable key's scopes can change; revoked and expired ones are history.
        key.scopes_form = ApiKeyScopesForm.for_key(key) if key.is_usable(now) else None
        # D8: an expired key answers auth_failed; the list must not show it
        # as a working one.
        key.is_expired = key.revoked_at is None and not key.is_usable(now)
    new_key = _take_new_key(request)
    response = render(
        request,
        "portal/api_keys.html",
        {
            "nav": "api-keys",
            "mode_next": reverse("portal:api-keys"),
            "form": form,
            "keys": keys,
            "new_key": new_key,
        },
        status=status,
    )
    if NEW_KEY_COOKIE in request.COOKIES:
        response.delete_cookie(
            NEW_KEY_COOKIE, path=reverse("portal:api-keys"), samesite="Strict"
        )
    return response


@require_http_methods(["GET", "POST"])
@portal_view
def api_keys_view(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        initial = {"mode": request.tenant.mode, "access": "full"}
        return _page(request, ApiKeyCreateForm(initial=initial))
    form = ApiKeyCreateForm(request.POST)
    if not form.is_valid():
        return _page(request, form, status=400)
    try:
        key, full_key = api_key_create(
            partner=request.partner,
            test_mode=form.cleaned_data["mode"] == "test",
            name=form.cleaned_data["name"],
            scopes=form.scope_list(),
            expires_at=form.cleaned_data["expires_at"],
        )
    except ValueError as exc:  # the form checks both first; a race with the clock
        if "expires_at" in str(exc):
            form.add_error("expires_at", "Pick a time in the future (UTC).")
        else:
            form.add_error("scopes", "Tick at least one scope, or choose full access.")
        return _page(request, form, status=400)
    sealed, pad = seal(full_key)
    request.session[SESSION_NEW_KEY] = {
        "sealed": sealed,
        "key_id": str(key.pk),
        "mode": key.mode,
        "other_mode": key.test_mode != request.tenant.test_mode,
    }
    messages.success(request, f"Created the {key.mode} key {key.prefix}…")
    return redirect_with_pad(
        request,
        "portal:api-keys",
        cookie=NEW_KEY_COOKIE,
        pad=pad,
        max_age=NEW_KEY_SECONDS,
    )


@require_POST
@portal_view
def api_key_revoke_view(request: HttpRequest, key_id: str) -> HttpResponse:
    key = _key_for(request, parse_id(key_id))
    if key.revoked_at is not None:
        messages.info(request, f"The key {key.prefix}… was already revoked.")
    else:
        api_key_revoke(key=key)
        messages.success(
            request, f"Revoked the key {key.prefix}…; it stops working now."
        )
    return redirect("portal:api-keys")


@require_POST
@portal_view
def api_key_scopes_view(request: HttpRequest, key_id: str) -> HttpResponse:
    """Replace the key's scopes (spec §2.2: "add the scope to the existing key")."""
    key_pk = parse_id(key_id)
    form = ApiKeyScopesForm(request.POST)
    if not form.is_valid():
        _key_for(request, key_pk)  # another partner's id is a 404 here too
        message = next(iter(form.errors.values()))[0]
        report_error(request, JoPayError(ErrorCode.INVALID_REQUEST, message))
        return redirect("portal:api-keys")
    try:
        key = api_key_scopes_update(
            partner=request.partner,
            test_mode=request.tenant.test_mode,
            key_id=key_pk,
            scopes=form.scope_list(),
            loaded_as=form.cleaned_data["loaded_scopes"],
        )
    except ValueError as exc:  # StaleScopesError too: nothing was saved
        report_error(request, JoPayError(ErrorCode.INVALID_REQUEST, str(exc)))
        return redirect("portal:api-keys")
    access = (
        "full access" if key.scopes is None else "the scopes " + ", ".join(key.scopes)
    )
    messages.success(
        request, f"The key {key.prefix}… has {access} from its next request on."
    )
    return redirect("portal:api-keys")
