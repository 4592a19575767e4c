"""``/admin/login/`` and ``/admin/password_change/`` with the portal's
brute-force limit (D27).

Staff accounts can attach proofs and change partners, rates and chains, so
their sign-in gets the same counters as the portal's: 10 failures per 15
minutes per client address and per account name, refused (429) once either is
spent, and failing closed while the counters are unreachable. As there, each
attempt is counted before Django checks the password and given back unless it
failed, so parallel guesses cannot outrun the counter. Django's own admin
login does the rest.

A wrong current password on the admin's password change is a failed sign-in
too, in the same counters, as on the portal's password page: unlimited, a
stolen staff session could guess the password there and keep the account
after the session ends.
"""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache

from merchants.portal.login_limits import (
    LoginAttempt,
    login_attempt_start,
    login_refusal_text,
)


def _refused(attempt: LoginAttempt, **text: str) -> HttpResponse:
    return HttpResponse(
        login_refusal_text(attempt, **text),
        status=429,
        content_type="text/plain; charset=utf-8",
        headers={"Retry-After": str(attempt.wait)},
    )


@never_cache
def admin_login_view(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return admin.site.login(request)
    account = request.POST.get("username", "")
    attempt = login_attempt_start(request, account)  # D27: counted before the check
    if attempt.wait:
        return _refused(attempt)
    response = admin.site.login(request)
    # Django answers a refused sign-in with the form again (200); anything
    # else (a redirect when signed in, a CSRF 403 before any check) is no
    # failure, so the attempt is given back.
    if response.status_code != 200:
        attempt.forgive()
    return response


@never_cache
def admin_password_change_view(request: HttpRequest) -> HttpResponse:
    if request.method != "POST" or not admin.site.has_permission(request):
        return admin.site.password_change(request)  # the form, or to sign-in
    # D27: counted before Django checks the current password.
    attempt = login_attempt_start(request, request.user.get_username())
    if attempt.wait:
        return _refused(
            attempt,
            what="Changing the password",
            failures="failed sign-ins or wrong passwords",
        )
    response = admin.site.password_change(request)
    form = (getattr(response, "context_data", None) or {}).get("form")
    if form is None or not form.has_error("old_password", "password_incorrect"):
        attempt.forgive()  # only a wrong current password is a failure
    return response
