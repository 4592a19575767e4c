"""The FX overrides section of ``/portal/settings/`` (D14, D31): what it shows.

A partner's override is a pinned manual rate for one currency, in fiat units
per 1 USDC, used for the partner's requests in that currency in live and test
mode alike. Each row sits next to the global rate it replaces (rate, source,
age), so the partner can see how far apart the two are. Reads go through
``payments.selectors``, scoped to the partner. ``FxOverrideForm`` is what the
section accepts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django import forms

from jopay_project.errors import ErrorCode
from jopay_project.forms import FocusFirstInvalid
from merchants.models import Partner
from payments.money import (
    RATE_MAX,
    RATE_MIN,
    RATE_PLACES,
    is_supported,
    rate_from_text,
    rate_in_range,
    rate_to_scaled_int,
)
from payments.selectors import (
    fx_rate_is_stale,
    fx_rate_override_list,
    fx_rates_global,
)
from payments.services.fx import fx_rate_needs_second_look


def format_rate(rate: Decimal) -> str:
    """``0.920000000000000000`` → ``"0.92"``; never exponent notation."""
    return format(rate.normalize(), "f")


@dataclass(frozen=True)
class FxOverrideRow:
    currency: str
    rate: str
    set_at: datetime
    is_enabled: bool  # a currency disabled since keeps its override, removable
    global_rate: str | None = None
    global_source: str | None = None
    global_fetched_at: datetime | None = None
    global_is_pinned: bool = False
    global_is_stale: bool = False


def fx_override_rows(partner: Partner) -> list[FxOverrideRow]:
    """``partner``'s overrides by currency, each with the current global rate."""
    overrides = fx_rate_override_list(partner=partner)
    globals_ = fx_rates_global([o.currency for o in overrides])
    enabled = set(partner.enabled_currencies)
    rows = []
    for override in overrides:
        found = globals_.get(override.currency)
        extra = {}
        if found is not None:
            extra = {
                "global_rate": format_rate(found.rate),
                "global_source": found.source,
                "global_fetched_at": found.fetched_at,
                "global_is_pinned": found.pinned,
                "global_is_stale": fx_rate_is_stale(found),
            }
        rows.append(
            FxOverrideRow(
                currency=override.currency,
                rate=format_rate(override.rate),
                set_at=override.fetched_at,
                is_enabled=override.currency in enabled,
                **extra,
            )
        )
    return rows


def parse_rate(value: str) -> Decimal:
    """``"0.92"`` → ``Decimal("0.92")``: fiat units per 1 USDC (D14, D31).

    The checks ``fx_rate_set_manual`` makes, as form errors: a plain positive
    decimal (no sign, exponent or separators), ``RATE_MIN`` ≤ rate < ``RATE_MAX``,
    at most 18 places. Raises ``ValidationError(invalid_request)``.
    """
    rate = rate_from_text(value)
    if rate is None:
        raise forms.ValidationError(
            "Enter the rate as a decimal like 0.92 (fiat units per 1 USDC).",
            code=ErrorCode.INVALID_REQUEST.value,
        )
    if not rate_in_range(rate):
        raise forms.ValidationError(
            f"Enter a rate from {RATE_MIN} up to {RATE_MAX:,} fiat units per USDC.",
            code=ErrorCode.INVALID_REQUEST.value,
        )
    try:
        rate_to_scaled_int(rate)
    except ValueError:
        raise forms.ValidationError(
            f"A rate has at most {RATE_PLACES} decimal places.",
            code=ErrorCode.INVALID_REQUEST.value,
        ) from None
    return rate


class FxOverrideForm(FocusFirstInvalid, forms.Form):
    """Set or replace the partner's pinned rate for one of its enabled currencies."""

    currency = forms.CharField(max_length=3, label="Currency", widget=forms.Select)
    rate = forms.CharField(
        max_length=60,
        label="Rate (fiat units per 1 USDC)",
        help_text="E.g. 0.92 for EUR: 1 USDC = €0.92.",
        widget=forms.TextInput(attrs={"inputmode": "decimal", "placeholder": "0.92"}),
    )

    def __init__(self, *args, partner, **kwargs):
        kwargs.setdefault("auto_id", "id_fx_%s")  # shares the page with SettingsForm
        super().__init__(*args, **kwargs)
        self.enabled = list(partner.enabled_currencies)
        self.fields["currency"].widget.choices = [(c, c) for c in self.enabled]
        self.fields["currency"].initial = partner.default_currency

    def clean_currency(self) -> str:
        code = self.cleaned_data["currency"]
        if not is_supported(code):
            raise forms.ValidationError(
                "Not one of the 28 supported currencies.",
                code=ErrorCode.INVALID_CURRENCY.value,
            )
        if code not in self.enabled:
            # D12: a currency the partner has not enabled is refused.
            raise forms.ValidationError(
                f"{code} is not enabled for your account (see Currencies above).",
                code=ErrorCode.UNSUPPORTED_CURRENCY.value,
            )
        return code

    confirm = forms.BooleanField(required=False, label="I checked this rate")

    # Set when the rate needs the confirm box (the page then shows it).
    needs_confirm = False

    def clean_rate(self) -> Decimal:
        return parse_rate(self.cleaned_data["rate"])

    def clean(self):
        cleaned = super().clean()
        currency, rate = cleaned.get("currency"), cleaned.get("rate")
        if currency and rate and not cleaned.get("confirm"):
            # An inverted rate (USD per EUR typed for EUR per USDC) mis-prices
            # every request in the currency: a second look first.
            off = fx_rate_needs_second_look(currency=currency, rate=rate)
            if off is not None:
                self.needs_confirm = True
                self.add_error(
                    "rate",
                    forms.ValidationError(
                        f"{format(rate.normalize(), 'f')} is {off:.0%} away from "
                        f"the current rate for {currency}. A rate is {currency} "
                        f"per 1 USDC: 100 {currency} would be "
                        f"{Decimal(100) / rate:.2f} USDC. If that is right, tick "
                        '"I checked this rate" and set it again.',
                        code=ErrorCode.INVALID_REQUEST.value,
                    ),
                )
        return cleaned
