"""``/portal/settings/``: currencies, per-request limits, default expiries, and
the partner's FX overrides (their POSTs live in ``views/fx.py``).

Amounts are typed in MAJOR units of the default currency ("12.50") and stored
in minor units (D35), parsed with ``Decimal`` by the form; the service checks
the rules and saves.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from ..access import portal_view
from ..forms import SettingsForm, format_major
from ..fx import FxOverrideForm, fx_override_rows
from ..services import partner_settings_update, settings_fingerprint

# Service field → form field, so its errors land next to the right input.
_FORM_FIELD = {
    "min_fiat_per_request": "min_amount",
    "max_fiat_per_request": "max_amount",
}


def _initial(partner) -> dict:
    currency = partner.default_currency
    return {
        "enabled_currencies": list(partner.enabled_currencies),
        "default_currency": currency,
        "min_amount": format_major(partner.min_fiat_per_request, currency),
        "max_amount": format_major(partner.max_fiat_per_request, currency),
        "pos_expiry_seconds": partner.pos_expiry_seconds,
        "invoice_expiry_seconds": partner.invoice_expiry_seconds,
        "limits_currency": currency,
        "loaded_as": settings_fingerprint(partner),
    }


def settings_page(
    request: HttpRequest,
    *,
    form: SettingsForm | None = None,
    fx_form: FxOverrideForm | None = None,
    status: int = 200,
) -> HttpResponse:
    """The whole page; a bound form (with its errors) replaces the blank one."""
    partner = request.partner
    return render(
        request,
        "portal/settings.html",
        {
            "nav": "settings",
            # Also the answer to POSTs to other URLs (the FX form): the mode
            # switch must come back to the page, not to a POST-only URL.
            "mode_next": reverse("portal:settings"),
            "form": form or SettingsForm(initial=_initial(partner)),
            "fx_form": fx_form or FxOverrideForm(partner=partner),
            "fx_overrides": fx_override_rows(partner),
            "partner": partner,
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
@portal_view
def settings_view(request: HttpRequest) -> HttpResponse:
    if request.method == "GET":
        return settings_page(request)
    # The initial values tell the form which fields the partner changed.
    form = SettingsForm(request.POST, initial=_initial(request.partner))
    if not form.is_valid():
        return settings_page(request, form=form, status=400)
    data = form.cleaned_data
    try:
        partner_settings_update(
            partner=request.partner,
            enabled_currencies=data["enabled_currencies"],
            default_currency=data["default_currency"],
            min_fiat_per_request=data["min_fiat_per_request"],
            max_fiat_per_request=data["max_fiat_per_request"],
            pos_expiry_seconds=data["pos_expiry_seconds"],
            invoice_expiry_seconds=data["invoice_expiry_seconds"],
            loaded_as=data["loaded_as"],
        )
    except ValidationError as err:
        for field, errors in err.error_dict.items():
            target = _FORM_FIELD.get(field, field)
            for error in errors:
                form.add_error(target if target in form.fields else None, error)
        return settings_page(request, form=form, status=400)
    messages.success(request, "Settings saved.")
    return redirect("portal:settings")
