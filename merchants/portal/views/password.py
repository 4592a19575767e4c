"""``/portal/password/``: a signed-in portal user changes their own password.

Django's ``PasswordChangeForm``: the current password, the new one twice, and
``AUTH_PASSWORD_VALIDATORS`` (settings: at least 10 characters, not a common
password). A wrong current password is a failed sign-in (D27): it counts in
the login form's own per-address and per-account counters, before the check,
and a full counter refuses the change with 429 — also while the counters are
unreachable, since sign-in fails closed and this form guards the same secret.

After the change this session stays signed in and every other session of the
user is signed out (``portal_password_change``). An account without a usable
password (signs in only through single sign-on, D33) has none to change: the
page says so and a POST is refused.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout, password_validation, update_session_auth_hash
from django.contrib.auth.forms import PasswordChangeForm
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from jopay_project.forms import FocusFirstInvalid
from merchants.partners import PORTAL_PASSWORD_MAX_LENGTH

from ..access import portal_view
from ..login_limits import login_attempt_start, login_refusal_text
from ..services import StalePasswordError, portal_password_change

# The login form's limit: a longer password could be set but never typed in.
MAX_PASSWORD_LENGTH = PORTAL_PASSWORD_MAX_LENGTH


def _password_field(label: str, autocomplete: str, **kwargs) -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=MAX_PASSWORD_LENGTH,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": autocomplete}),
        **kwargs,
    )


class PasswordForm(FocusFirstInvalid, PasswordChangeForm):
    """``PasswordChangeForm`` in the portal's words, the validators' errors
    under the new password (where its rules are shown), not its confirmation."""

    error_messages = {
        **PasswordChangeForm.error_messages,
        "password_incorrect": "Your current password is not correct.",
        "password_mismatch": "The two new passwords are not the same.",
        "password_unchanged": "The new password is your current one.",
    }
    old_password = _password_field("Current password", "current-password")
    new_password1 = _password_field(
        "New password",
        "new-password",
        help_text=" ".join(password_validation.password_validators_help_texts()),
    )
    new_password2 = _password_field("New password again", "new-password")

    def __init__(self, user, *args, **kwargs) -> None:
        super().__init__(user, *args, **kwargs)
        self.fields["old_password"].widget.attrs["autofocus"] = True

    def clean(self) -> dict:
        self.validate_passwords("new_password1", "new_password2")
        self.validate_password_for_user(self.user, "new_password1")
        old = self.cleaned_data.get("old_password")
        if old and old == self.cleaned_data.get("new_password1"):
            self.add_error(
                "new_password1",
                ValidationError(
                    self.error_messages["password_unchanged"],
                    code="password_unchanged",
                ),
            )
        return self.cleaned_data


def _page(
    request: HttpRequest,
    form: PasswordForm | None,
    *,
    refusal: str = "",
    status: int = 200,
) -> HttpResponse:
    return render(
        request,
        "portal/password.html",
        {
            "nav": "password",
            "form": form,
            "has_password": form is not None,
            "refusal": refusal,
        },
        status=status,
    )


@sensitive_post_parameters("old_password", "new_password1", "new_password2")
@require_http_methods(["GET", "POST"])
@portal_view
def password_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    if not user.has_usable_password():
        # Single sign-on only: no current password to prove, so no way to set
        # one from a session alone (a stolen session must not add a password).
        return _page(request, None, status=403 if request.method == "POST" else 200)
    if request.method == "GET":
        return _page(request, PasswordForm(user))

    # D27: counted before the current password is checked, as a sign-in is.
    attempt = login_attempt_start(request, user.get_username())
    if attempt.wait:
        # A blank form: a bound one would check the password to show its errors.
        form = PasswordForm(user)
        refusal = login_refusal_text(
            attempt,
            what="Changing the password",
            failures="failed sign-ins or wrong passwords",
        )
        response = _page(request, form, refusal=refusal, status=429)
        response["Retry-After"] = str(attempt.wait)
        return response
    form = PasswordForm(user, request.POST)
    valid = form.is_valid()
    if not form.has_error("old_password", "password_incorrect"):
        attempt.forgive()  # only a wrong current password is a failure
    if not valid:
        return _page(request, form, status=400)
    try:
        portal_password_change(
            user=user,
            partner=request.partner,
            new_password=form.cleaned_data["new_password1"],
        )
    except StalePasswordError:
        # Changed from another session since the check: that change signed
        # this session out, so it does not get to overwrite it.
        logout(request)
        return redirect_to_login(reverse("portal:password"), settings.LOGIN_URL)
    update_session_auth_hash(request, user)  # this session stays signed in
    messages.success(
        request, "Password changed. Your other sessions have been signed out."
    )
    return redirect("portal:password")
