"""Portal forms for keys, settings and merchants. Shape checks only; rules live in
the services. Each error carries a registry code (``ValidationError.code``)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from django import forms
from django.utils import timezone

from jopay_project.errors import ErrorCode
from jopay_project.forms import FocusFirstInvalid
from merchants.keys import VALID_SCOPES, scopes_token
from merchants.validation import shown_text_problem
from payments.money import (
    MAX_FIAT_INT,
    SUPPORTED_CURRENCIES,
    exponent,
)

from .services import INVOICE_EXPIRY_BOUNDS, POS_EXPIRY_BOUNDS

_MAJOR_RE = re.compile(r"^\d{1,12}(?:\.\d+)?\Z")
CURRENCY_CHOICES = [(c, c) for c in SUPPORTED_CURRENCIES]
SCOPE_CHOICES = [(s, s) for s in sorted(VALID_SCOPES)]


def parse_major(value: str, currency: str) -> int:
    """``"12.50"`` in EUR → ``1250``; ``"1250"`` in JPY → ``1250`` (D13, spec §9.1).

    Exact ``Decimal`` arithmetic, never float. More decimals than the currency's
    exponent allows (any for JPY, KRW, CLP) → ``ValidationError(invalid_amount)``.
    """
    text = (value or "").strip()
    if not _MAJOR_RE.match(text):
        raise forms.ValidationError(
            "Enter an amount like 12.50 (digits and one dot).",
            code=ErrorCode.INVALID_AMOUNT.value,
        )
    exp = exponent(currency)
    decimals = len(text.split(".", 1)[1]) if "." in text else 0
    if decimals > exp:
        raise forms.ValidationError(
            f"{currency} takes no decimals."
            if exp == 0
            else f"{currency} takes at most {exp} decimals.",
            code=ErrorCode.INVALID_AMOUNT.value,
        )
    try:
        minor = Decimal(text).scaleb(exp)
    except InvalidOperation:  # pragma: no cover - the regex admits only numbers
        raise forms.ValidationError(
            "Not a number.", code=ErrorCode.INVALID_AMOUNT.value
        ) from None
    if minor != minor.to_integral_value() or not 1 <= minor <= MAX_FIAT_INT:
        raise forms.ValidationError(
            "The amount is out of range.", code=ErrorCode.INVALID_AMOUNT.value
        )
    return int(minor)


def format_major(minor: int | None, currency: str) -> str:
    """The inverse, for form initial values: no thousands separators."""
    if minor is None:
        return ""
    exp = exponent(currency)
    if exp == 0:
        return str(minor)
    whole, frac = divmod(minor, 10**exp)
    return f"{whole}.{frac:0{exp}d}"


class ApiKeyScopesForm(FocusFirstInvalid, forms.Form):
    """Full access, or the scopes ticked (D7); used at creation and to change a key."""

    access = forms.ChoiceField(
        choices=[("full", "Full access"), ("restricted", "Only the scopes ticked")],
        initial="full",
        widget=forms.RadioSelect,
        label="Access",
    )
    scopes = forms.MultipleChoiceField(
        choices=SCOPE_CHOICES,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Scopes",
    )
    # The key's scopes as the page drew them (``scopes_token``): a save from a
    # page opened before someone else changed them is refused (D7, D8).
    loaded_scopes = forms.CharField(
        max_length=400, required=False, widget=forms.HiddenInput
    )

    @classmethod
    def for_key(cls, key) -> ApiKeyScopesForm:
        """An unbound form showing ``key``'s scopes, with ids unique to the key."""
        initial = (
            {"access": "full"}
            if key.scopes is None
            else {"access": "restricted", "scopes": list(key.scopes)}
        )
        initial["loaded_scopes"] = scopes_token(key.scopes)
        return cls(initial=initial, auto_id=f"id_key_{key.pk}_%s")

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("access") == "restricted" and not cleaned.get("scopes"):
            # D7: an empty scope list is refused; full access is a separate choice.
            self.add_error(
                "scopes",
                forms.ValidationError(
                    "Tick at least one scope, or choose full access.",
                    code=ErrorCode.INVALID_REQUEST.value,
                ),
            )
        return cleaned

    def scope_list(self) -> list[str] | None:
        if self.cleaned_data["access"] == "full":
            return None
        return list(self.cleaned_data["scopes"])


class ApiKeyCreateForm(ApiKeyScopesForm):
    field_order = ["name", "mode", "access", "scopes", "expires_at"]
    loaded_scopes = None  # a new key has no scopes to have gone stale

    name = forms.CharField(max_length=80, required=False, label="Name")
    mode = forms.ChoiceField(
        choices=[("live", "Live (jo_live_…)"), ("test", "Test (jo_test_…)")],
        label="Mode",
    )
    expires_at = forms.DateTimeField(
        required=False,
        label="Expires (UTC, optional)",
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )

    def clean_expires_at(self) -> datetime | None:
        value = self.cleaned_data.get("expires_at")
        if value is None:
            return None
        # The field is labelled UTC: read the wall time as UTC, not server time.
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value
        if value <= timezone.now():
            raise forms.ValidationError(
                "Pick a time in the future (UTC), or leave it empty for a key "
                "that does not expire.",
                code=ErrorCode.INVALID_REQUEST.value,
            )
        return value


class SettingsForm(FocusFirstInvalid, forms.Form):
    enabled_currencies = forms.MultipleChoiceField(
        choices=CURRENCY_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        label="Enabled currencies",
        error_messages={"required": "Enable at least one currency."},
    )
    default_currency = forms.ChoiceField(
        choices=CURRENCY_CHOICES, label="Default currency"
    )
    min_amount = forms.CharField(
        max_length=20,
        label="Minimum per request",
        help_text="Major units of the default currency.",
    )
    max_amount = forms.CharField(
        max_length=20,
        required=False,
        label="Maximum per request",
        help_text="Leave empty for no maximum.",
    )
    pos_expiry_seconds = forms.IntegerField(
        label="Point-of-sale expiry (seconds)",
        help_text="{:,} to {:,} (1 min – 24 h)".format(*POS_EXPIRY_BOUNDS),
    )
    invoice_expiry_seconds = forms.IntegerField(
        label="Invoice expiry (seconds)",
        help_text="{:,} to {:,} (1 h – 90 days)".format(*INVOICE_EXPIRY_BOUNDS),
    )

    # The currency the limits were shown in (the default when the page was
    # drawn): a new default reads the same digits in another currency.
    limits_currency = forms.CharField(
        max_length=3, required=False, widget=forms.HiddenInput
    )
    # The settings as the page drew them (``settings_fingerprint``): a save
    # from a page opened before someone else saved is refused, not applied.
    loaded_as = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean(self):
        cleaned = super().clean()
        if self.is_bound and "max_amount" not in self.data:
            # Empty means "no maximum"; a post without the field must not
            # silently drop the partner's limit (D13 amount_exceeds_max).
            self.add_error(
                "max_amount",
                forms.ValidationError(
                    "Type a maximum, or leave the field empty for none.",
                    code=ErrorCode.INVALID_REQUEST.value,
                ),
            )
        currency = cleaned.get("default_currency")
        if not currency:
            return cleaned
        shown_in = cleaned.get("limits_currency")
        limits_untouched = not {"min_amount", "max_amount"} & set(self.changed_data)
        if (
            shown_in
            and shown_in != currency
            and limits_untouched
            and (cleaned.get("min_amount") or cleaned.get("max_amount"))
        ):
            # ¥100 … ¥50,000 silently became €100.00 … €50,000.00 when only
            # the currency changed. Say so once; the page comes back with the
            # limits shown in the new currency, and saving again keeps them.
            self.data = self.data.copy()
            self.data["limits_currency"] = currency
            self.add_error(
                "min_amount",
                forms.ValidationError(
                    f"The limits are amounts of the default currency, now "
                    f"{currency} (they were in {shown_in}). Check them and save "
                    "again.",
                    code=ErrorCode.INVALID_REQUEST.value,
                ),
            )
            return cleaned
        # D35: the limits are minor units of the (new) default currency.
        for field, target in (
            ("min_amount", "min_fiat_per_request"),
            ("max_amount", "max_fiat_per_request"),
        ):
            raw = cleaned.get(field)
            if raw in (None, ""):
                cleaned[target] = None
                continue
            try:
                cleaned[target] = parse_major(raw, currency)
            except forms.ValidationError as err:
                self.add_error(field, err)
        return cleaned


class MerchantSearchForm(forms.Form):
    q = forms.CharField(max_length=120, required=False, label="Search")
    cursor = forms.CharField(max_length=200, required=False)


class MerchantNameForm(FocusFirstInvalid, forms.Form):
    display_name = forms.CharField(max_length=120, label="Display name")

    def clean_display_name(self) -> str:
        # The API's rule for the same field: no control characters (a bell or
        # an escape shown on the pay page and handed on to partner systems),
        # no bidi overrides (they reorder what the customer reads, D22).
        name = self.cleaned_data["display_name"]
        problem = shown_text_problem(name)
        if problem:
            raise forms.ValidationError(
                f"The name must not contain {problem}.",
                code=ErrorCode.INVALID_REQUEST.value,
            )
        return name
