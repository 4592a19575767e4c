"""The merchant onboarding page ``/onboard/<token>/`` (D28, D35).

Public and without login: the unguessable single-use token is the credential.
The merchant enters an EVM wallet and accepts the terms; the write happens in
``merchant_onboarding_complete`` under a row lock, so a double submit applies
once. Unknown, used and expired links all get the same friendly 404 page.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.crypto import constant_time_compare
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods

from jopay_project import ratelimits
from jopay_project.errors import ErrorCode, JoPayError
from jopay_project.forms import FocusFirstInvalid
from payments.pay.presenters import shown_logo

from .addresses import receiving_address_validate
from .audit import actor_set
from .models import AuditEntry, Merchant
from .onboarding_complete import merchant_onboarding_complete
from .onboarding_links import onboarding_token_hash, onboarding_token_well_formed
from .selectors import merchant_for_onboarding_token
from .validation import shown_text


class OnboardingForm(FocusFirstInvalid, forms.Form):
    wallet_address = forms.CharField(
        label="Wallet address",
        # Rendered with its id: Django ties it to the field (aria-describedby),
        # so a screen reader reads it with the label and any error.
        help_text=(
            "An EVM address you control (MetaMask, Coinbase Wallet, "
            "a WalletConnect wallet)."
        ),
        # No max_length: its maxlength="42" made a browser cut a pasted
        # " 0x…" before the last digit, so the strip below never saw it. The
        # address check bounds the stripped value (exactly 42 characters).
        strip=True,
        widget=forms.TextInput(
            attrs={
                "placeholder": "0x…",
                "autocomplete": "off",
                "spellcheck": "false",
                "maxlength": "100",
            }
        ),
    )
    accept_terms = forms.BooleanField(
        label="I accept the terms of service",
        required=True,
        error_messages={"required": "Please accept the terms to continue."},
    )

    def clean_wallet_address(self) -> str:
        value = self.cleaned_data["wallet_address"]
        try:
            # D28: the service's own check (shape, not zero, not a USDC
            # contract), so a refusal is a form error, never a 500.
            return receiving_address_validate(
                address=value, code=ErrorCode.INVALID_WALLET_ADDRESS
            )
        except JoPayError:
            raise forms.ValidationError(
                "Enter a valid EVM address: 0x followed by 40 hex characters "
                "(mixed case must match its EIP-55 checksum), your own wallet: "
                "not the zero address or a token contract.",
                code=ErrorCode.INVALID_WALLET_ADDRESS.value,
            ) from None


def _not_found(request: HttpRequest) -> HttpResponse:
    return render(request, "onboarding/not_found.html", status=404)


def _context(merchant: Merchant, form: OnboardingForm) -> dict:
    partner = merchant.partner
    # base.html paints the partner's colours from brand_color / brand_color_2.
    return {
        "merchant": merchant,
        "partner": partner,
        # D22: names stored before bidi controls were refused are shown
        # without them, as on the pay page.
        "merchant_name": shown_text(merchant.name),
        "partner_name": shown_text(partner.name),
        # As the pay page: a non-https logo stored before the admin refused
        # one is left out, not drawn broken (the pages' img-src is https only).
        "logo_url": shown_logo(partner.logo_url),
        # As the pay page (D22): a test-mode merchant's link says so, or one
        # sent to a real merchant by mistake was filled in and read as done.
        "test_mode": merchant.test_mode,
        "form": form,
        "terms_url": settings.JOPAY_TERMS_URL,
        "terms_version": settings.JOPAY_TERMS_VERSION,
        "brand_color": partner.primary_color,
        "brand_color_2": partner.secondary_color,
    }


@never_cache
@csrf_protect
@require_http_methods(["GET", "POST"])
def onboarding_page(request: HttpRequest, token: str) -> HttpResponse:
    # Per IP (D27's public-page rule): a form submission costs a row lock and
    # an address check; the token itself is unguessable (256 bits).
    group = "onboard.page" if request.method == "GET" else "onboard.submit"
    usage = ratelimits.hit(request, group, f"ip:{ratelimits.client_ip_hash(request)}")
    if usage.exceeded:
        return ratelimits.html_rate_limited(request, usage)
    merchant = merchant_for_onboarding_token(token=token)
    if merchant is None:
        return _spent_here_or_not_found(request, token)
    actor_set(AuditEntry.ActorKind.MERCHANT, "onboarding link")
    if request.method == "GET":
        # A session before the form is sent: a double click's second POST,
        # sent before the first's answer set any cookie, then carries the
        # session the first one records its outcome in.
        request.session.setdefault(_OPENED_KEY, True)
        form = OnboardingForm()
        return render(request, "onboarding/page.html", _context(merchant, form))
    form = OnboardingForm(request.POST)
    if not form.is_valid():
        return render(
            request, "onboarding/page.html", _context(merchant, form), status=400
        )
    try:
        with transaction.atomic():
            merchant = merchant_onboarding_complete(
                token=token,
                wallet_address=form.cleaned_data["wallet_address"],
                terms_accepted=form.cleaned_data["accept_terms"],
            )
            # Post/redirect/get: a reload of the answer re-POSTed to the spent
            # link and showed "this link is not valid", which read like a
            # failure. Saved with the onboarding (database sessions): a
            # submission waiting on the row lock reads it once it is free.
            request.session[_DONE_KEY] = str(merchant.pk)
            request.session[_DONE_LINK_KEY] = onboarding_token_hash(token)
            request.session.save()
    except JoPayError as err:
        if err.code is ErrorCode.NOT_FOUND:  # used or expired since the GET above
            return _spent_here_or_not_found(request, token)
        raise
    return redirect("merchant-onboarding-done")


_OPENED_KEY = "jopay_onboarding_opened"
_DONE_KEY = "jopay_onboarded_merchant"
_DONE_LINK_KEY = "jopay_onboarded_link"  # the SHA-256 of the link it spent


def _spent_here_or_not_found(request: HttpRequest, token: str) -> HttpResponse:
    """The done page for the browser that spent this link, else the 404 page.

    Back after finishing, or a double click's second submission: the spent
    link said "not valid", read as a failed setup although it had worked.
    Anyone else still finds the link dead (D28: single use).
    """
    spent = request.session.get(_DONE_LINK_KEY)
    if (
        isinstance(spent, str)
        and onboarding_token_well_formed(token)
        and constant_time_compare(spent, onboarding_token_hash(token))
    ):
        return redirect("merchant-onboarding-done")
    return _not_found(request)


@never_cache
@require_http_methods(["GET", "HEAD"])
def onboarding_done(request: HttpRequest) -> HttpResponse:
    """The page after a completed onboarding, for this browser's session only."""
    merchant = (
        Merchant.objects.select_related("partner")
        .filter(
            pk=request.session.get(_DONE_KEY),
            onboarding_status=Merchant.OnboardingStatus.COMPLETE,
        )
        .first()
        if request.session.get(_DONE_KEY)
        else None
    )
    if merchant is None:
        return _not_found(request)
    return render(request, "onboarding/done.html", _context(merchant, OnboardingForm()))
