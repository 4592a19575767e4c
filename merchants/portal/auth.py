"""Portal sign-in: password form, OIDC ID-token SSO, logout, mode switch (D27, D33).

Password login counts *failures* only (D27: 10 per 15 minutes, per client
address and per account); once either counter is full the form answers 429
with a clear message, even for the right password, until the window passes.
The counting itself is in ``login_limits``.
"""

from __future__ import annotations

from urllib.parse import unquote, urlsplit

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, login, logout
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods, require_POST

from jopay_project.errors import ErrorCode, JoPayError, error_json_response
from jopay_project.forms import FocusFirstInvalid
from jopay_project.parsers import load_json
from merchants import sso
from merchants.partners import PORTAL_PASSWORD_MAX_LENGTH

from .access import (
    SESSION_TEST_MODE,
    is_portal_page,
    partner_user_for,
    portal_view,
    referer_page,
)
from .login_limits import login_attempt_start, login_refusal_text

DASHBOARD = "/portal/"


class LoginForm(FocusFirstInvalid, forms.Form):
    email = forms.CharField(
        label="E-mail",
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "username", "autofocus": True}),
    )
    password = forms.CharField(
        label="Password",
        max_length=PORTAL_PASSWORD_MAX_LENGTH,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )


def _safe_next(request: HttpRequest, default: str = DASHBOARD) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if (
        target.startswith("/portal/")
        and _stays_in_portal(target)
        and url_has_allowed_host_and_scheme(
            target,
            allowed_hosts={request.get_host()},
            require_https=request.is_secure(),
        )
    ):
        return target
    return default


def _stays_in_portal(target: str) -> bool:
    """No dot segment or empty segment in the path, however it is spelled.

    A browser resolves ``/portal/../admin/`` (or ``/portal/%2e%2e/admin/``) to
    a path outside the portal, and ``/portal/..//host`` to ``//host``.
    Backslashes count as slashes, as browsers read them in a raw URL.
    """
    path = unquote(urlsplit(target).path).replace("\\", "/")
    *inner, last = path.split("/")[1:]  # the part after the last "/" may be empty
    return all(s not in ("", ".", "..") for s in inner) and last not in (".", "..")


def _render_login(
    request: HttpRequest, form: LoginForm, *, status: int = 200
) -> HttpResponse:
    config = sso.sso_config()
    nonce = sso.nonce_issue() if config is not None else None
    response = render(
        request,
        "portal/login.html",
        {
            "form": form,
            "next": _safe_next(request, ""),
            "sso_enabled": config is not None,
            "sso_nonce": nonce,
            "sso_endpoint": reverse("portal:login-id-token"),
        },
        status=status,
    )
    if nonce is not None:
        # D33: the ID token's nonce must equal this single-use value. The
        # identity provider usually posts the token back from its own site
        # (OIDC response_mode=form_post): a Lax cookie stays behind on a
        # cross-site POST, so every such sign-in failed as invalid_id_token.
        # On HTTPS the cookie goes cross-site (None needs Secure); the nonce
        # itself, unknown to any other site, is what stops login CSRF.
        secure = request.is_secure()
        response.set_cookie(
            sso.NONCE_COOKIE,
            nonce,
            max_age=sso.NONCE_TTL_SECONDS,
            secure=secure,
            httponly=True,
            samesite="None" if secure else "Lax",
            path=reverse("portal:login"),
        )
    return response


@sensitive_post_parameters("password")  # never in an error report
@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        if partner_user_for(request.user) is not None:
            return redirect(_safe_next(request))
        return _render_login(request, LoginForm())

    form = LoginForm(request.POST)
    if not form.is_valid():
        return _render_login(request, form, status=400)
    email = form.cleaned_data["email"].strip().lower()
    attempt = login_attempt_start(request, email)  # D27: counted before the check
    if attempt.wait:
        form.add_error(None, login_refusal_text(attempt))
        response = _render_login(request, form, status=429)
        response["Retry-After"] = str(attempt.wait)
        return response
    user = authenticate(request, username=email, password=form.cleaned_data["password"])
    if user is None or partner_user_for(user) is None:
        # One message for every failure: no hint whether the account exists.
        # The attempt stays counted: it is a failure.
        form.add_error(None, "E-mail or password is not correct.")
        return _render_login(request, form, status=400)
    attempt.forgive()
    login(request, user)
    request.session[SESSION_TEST_MODE] = False
    return redirect(_safe_next(request))


def _id_token_from(request: HttpRequest) -> tuple[object, bool]:
    """``(token, wants_json)`` from a JSON body or a form field."""
    if request.content_type == "application/json":
        try:
            body = load_json(request.body or b"null")  # never a RecursionError
        except ValueError:
            return None, True
        return (body.get("id_token") if isinstance(body, dict) else None), True
    return request.POST.get("id_token"), False


@sensitive_post_parameters("id_token")  # a bearer credential until it expires
@never_cache
@csrf_exempt  # D35: the signed token (with its single-use nonce) is the proof
def login_id_token_view(request: HttpRequest) -> HttpResponse:
    """``POST /portal/login/id-token`` (D33): sign in with an OIDC ID token.

    Every answer is the JSON envelope (docs/site/errors.md), a wrong method
    too: ``require_POST`` answered Django's empty HTML 405, also where SSO is
    not configured and D33 says the endpoint answers 404.
    """
    config = sso.sso_config()
    if config is None:
        return error_json_response(ErrorCode.NOT_FOUND)
    if request.method != "POST":
        return error_json_response(
            ErrorCode.METHOD_NOT_ALLOWED, headers={"Allow": "POST"}
        )
    token, wants_json = _id_token_from(request)
    if token is None or (isinstance(token, str) and not token.strip()):
        return error_json_response(ErrorCode.MISSING_ID_TOKEN)
    if not isinstance(token, str):
        # Sent, but not a token at all ({"id_token": 42}): errors.md's
        # "sent but malformed", not "got none".
        return error_json_response(ErrorCode.INVALID_ID_TOKEN)
    # D27: SSO failures count against the address's login limit; counted
    # before the token is checked, as for passwords (no account bucket: the
    # e-mail is only known once the signature holds).
    attempt = login_attempt_start(request, None)
    if attempt.wait:
        return error_json_response(
            ErrorCode.RATE_LIMITED,
            retry_after=attempt.wait,
            headers={"Retry-After": str(attempt.wait)},
        )
    try:
        partner_user = sso.sso_authenticate(
            id_token=token.strip(),
            cookie_nonce=request.COOKIES.get(sso.NONCE_COOKIE),
            config=config,
        )
    except JoPayError as err:
        response = error_json_response(err.code)  # stays counted: a failure
    else:
        attempt.forgive()
        login(
            request,
            partner_user.user,
            backend="django.contrib.auth.backends.ModelBackend",
        )
        request.session[SESSION_TEST_MODE] = False
        response = (
            JsonResponse({"ok": True, "redirect": DASHBOARD})
            if wants_json
            else redirect(DASHBOARD)
        )
    response.delete_cookie(sso.NONCE_COOKIE, path=reverse("portal:login"))
    return response


@require_POST
@csrf_protect
def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect(settings.LOGIN_URL)


@require_POST
@portal_view
def mode_view(request: HttpRequest) -> HttpResponse:
    """Switch the portal between live and test data (kept in the session, D10)."""
    test_mode = request.POST.get("mode") == "test"
    request.session[SESSION_TEST_MODE] = test_mode
    messages.info(request, "Showing test data." if test_mode else "Showing live data.")
    target = _safe_next(request)
    if not request.POST.get("next"):
        # The 404 page leaves ``next`` empty: it must not print its address
        # (D10, the same body for foreign and missing ids), yet it says to
        # switch modes, so the switch returns to the page it was posted from.
        target = referer_page(request) or DASHBOARD
    if not is_portal_page(urlsplit(target).path):
        target = DASHBOARD  # a POST-only action URL would answer 405
    return redirect(target)
