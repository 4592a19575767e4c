"""``/portal/settings/fx/…``: set, replace and remove the partner's FX overrides
(D14, D31), shown on ``/portal/settings/``.

An override is a pinned manual rate, so it goes through the same services as
``set_fx_rate`` and the admin (``fx_rate_set_manual``, ``fx_rate_clear_manual``)
with ``partner=request.partner``: a partner reaches only its own rows, and
another partner's currency is simply one it has no override for (the portal's
404 page). Overrides belong to the partner, so they apply in both modes. Like
the other settings, any signed-in user of the partner may change them.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from jopay_project.errors import ErrorCode
from payments.money import is_supported
from payments.services import fx_rate_clear_manual, fx_rate_set_manual

from ..access import portal_view
from ..fx import FxOverrideForm, format_rate
from .settings import settings_page


def _back() -> HttpResponse:
    return redirect(reverse("portal:settings") + "#fx")


@require_POST
@portal_view
def fx_override_set_view(request: HttpRequest) -> HttpResponse:
    """Pin the partner's rate for one enabled currency (creates or replaces)."""
    form = FxOverrideForm(request.POST, partner=request.partner)
    if not form.is_valid():
        return settings_page(request, fx_form=form, status=400)
    try:
        row = fx_rate_set_manual(
            currency=form.cleaned_data["currency"],
            rate=form.cleaned_data["rate"],
            partner=request.partner,
        )
    except ValueError as exc:  # the service's own checks; the form mirrors them
        error = forms.ValidationError(
            f"Not saved: {exc}.", code=ErrorCode.INVALID_REQUEST.value
        )
        form.add_error(None, error)
        return settings_page(request, fx_form=form, status=400)
    messages.success(
        request,
        f"Your {row.currency} rate is pinned at {format_rate(row.rate)} per USDC, "
        "in live and test mode, until you remove it.",
    )
    return _back()


@require_POST
@portal_view
def fx_override_remove_view(request: HttpRequest, currency: str) -> HttpResponse:
    """Delete the partner's override: its requests use the global rate again."""
    if not is_supported(currency):
        raise Http404
    if not fx_rate_clear_manual(currency=currency, partner=request.partner):
        raise Http404  # none of yours: the same page as any unknown id
    messages.success(
        request,
        f"Removed your {currency} override; the global rate applies again.",
    )
    return _back()
