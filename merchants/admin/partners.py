"""Partners and their portal users in the admin (D11, D13, D27, D35)."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.admin.widgets import ForeignKeyRawIdWidget
from django.db import models
from django.urls import NoReverseMatch, reverse
from django.utils.text import Truncator

from jopay_project.admin_lookups import DatePartLookupsCheckedMixin
from jopay_project.errors import ErrorCode, JoPayError

from ..models import Partner, PartnerUser
from ..partner_rules import SETTINGS_FIELDS
from ..partners import rate_limit_overrides_clean
from .audit import AuditedChangesMixin
from .stale_edits import StaleEditGuardForm
from .user_privileges import PortalUserLinkFormSet

# What ``Partner.clean`` judges as a group (merchants.partner_rules).
_SETTINGS = frozenset(SETTINGS_FIELDS)
# Judged each on its own (the colours' format, the logo's https).
_ON_THEIR_OWN = frozenset({"name", "primary_color", "secondary_color", "logo_url"})


def form_error_from(exc: JoPayError) -> forms.ValidationError:
    """The API's refusal as a form error, with the code the API would answer."""
    return forms.ValidationError(f"{exc.message} ({exc.code})", code=str(exc.code))


class PartnerAdminForm(StaleEditGuardForm):
    # No Meta: ModelAdmin builds the form for Partner from its own fieldsets.

    # The currency the limits were shown in (the stored default when the page
    # was drawn), as on the portal's settings form: a new default reads the
    # same digits in another currency (D35).
    limits_currency = forms.CharField(
        max_length=3, required=False, widget=forms.HiddenInput
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if not self.instance._state.adding:
            self.fields["limits_currency"].initial = self.instance.default_currency
        # The portal takes major units ("25.00"); the admin stores what it is
        # given: 50 meant €50 to staff and was €0.50.
        for name in ("min_fiat_per_request", "max_fiat_per_request"):
            if name in self.fields:
                self.fields[name].help_text = (
                    "MINOR units of the default currency: 2500 = 25.00 EUR, "
                    "2500 = ¥2,500."
                )

    def clean(self):
        cleaned = super().clean()
        currency = cleaned.get("default_currency")
        shown_in = cleaned.get("limits_currency")
        limits_untouched = not {
            "min_fiat_per_request",
            "max_fiat_per_request",
        } & set(self.changed_data)
        if currency and shown_in and shown_in != currency and limits_untouched:
            # D35: the limits are minor units of the default currency, so
            # EUR 1.00 … 500.00 silently became ¥100 … ¥50,000 when only the
            # currency changed. The portal's settings form refuses this once
            # (merchants.portal.forms.SettingsForm.clean); so does the admin:
            # the form comes back with the limits marked as read in the new
            # currency, and saving again keeps them.
            self.data = self.data.copy()
            self.data[self.add_prefix("limits_currency")] = currency
            self.add_error(
                "min_fiat_per_request",
                forms.ValidationError(
                    f"The limits are minor units of the default currency, now "
                    f"{currency} (they were in {shown_in}). Check both limits "
                    "and save again.",
                    code=ErrorCode.INVALID_REQUEST.value,
                ),
            )
        return cleaned

    def _update_errors(self, errors):
        """Drop the model's refusal of settings staff did not touch (D11–D13).

        ``Partner.clean`` judges the whole row; a value stored before a rule
        (an expiry past D11's bounds, a minimum of 0) then blocked every save,
        switching the partner off included, unless staff changed the
        partner's money settings too. As on the merchant page, only what is
        edited is judged: the settings as one group (their rules relate
        them), each colour and the logo on its own. Nothing untouched is written
        (``PartnerAdmin.save_model`` saves the changed columns only).
        """
        if not self.instance._state.adding and hasattr(errors, "error_dict"):
            changed = set(self.changed_data)
            untouched = {n for n in _ON_THEIR_OWN if n not in changed}
            if not changed & _SETTINGS:
                untouched |= _SETTINGS
            kept = {k: v for k, v in errors.error_dict.items() if k not in untouched}
            if not kept:
                return
            errors = forms.ValidationError(kept)
        super()._update_errors(errors)

    def clean_rate_limit_overrides(self):
        # jopay_project.api reads ``overrides.get(group)`` and hands the value
        # to the limiter on every call: anything it cannot parse is a 500 for
        # every API call of this partner, so it is refused here.
        return rate_limit_overrides_clean(self.cleaned_data.get("rate_limit_overrides"))


class _KnownUserRawIdWidget(ForeignKeyRawIdWidget):
    """The raw-id box, labelled from the row's own (joined) user.

    Django's widget looks the user up again for its label, one query per
    portal user on the partner's page; only a value that is not the row's
    user (a new row, a changed id) is still looked up.
    """

    known = None

    def label_and_url_for_value(self, value):
        user = self.known
        if user is None or str(user.pk) != str(value):
            return super().label_and_url_for_value(value)
        opts = user._meta
        try:
            url = reverse(
                f"{self.admin_site.name}:{opts.app_label}_{opts.model_name}_change",
                args=(user.pk,),
            )
        except NoReverseMatch:
            url = ""
        return Truncator(user).words(14), url


class PartnerUserInlineForm(forms.ModelForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        widget = getattr(self.fields.get("user"), "widget", None)
        if isinstance(widget, _KnownUserRawIdWidget) and self.instance.pk:
            widget.known = self.instance.user  # joined: get_queryset below


class PartnerUserInline(admin.TabularInline):
    model = PartnerUser
    form = PartnerUserInlineForm
    formset = PortalUserLinkFormSet  # no staff account; audited
    extra = 0
    raw_id_fields = ["user"]

    def get_queryset(self, request):
        # Each row's title reads its user and partner: two queries a row.
        return super().get_queryset(request).select_related("user", "partner")

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user":
            kwargs["widget"] = _KnownUserRawIdWidget(
                db_field.remote_field, self.admin_site, using=kwargs.get("using")
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Partner)
class PartnerAdmin(AuditedChangesMixin, DatePartLookupsCheckedMixin, admin.ModelAdmin):
    audit_action = "partner.updated"
    form = PartnerAdminForm
    list_display = [
        "slug",
        "name",
        "default_currency",
        "min_fiat_per_request",
        "max_fiat_per_request",
        "is_active",
        "created_at",
    ]
    search_fields = ["slug", "name"]
    list_filter = ["is_active", "default_currency"]
    inlines = [PartnerUserInline]
    # Logos are https; also settles Django 6's URLField scheme default.
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    fieldsets = [
        # loaded_as: hidden, refuses a save over a row changed since (stale_edits).
        (None, {"fields": ["slug", "name", "is_active", "loaded_as"]}),
        (
            "Money",
            {
                "fields": [
                    "default_currency",
                    "enabled_currencies",
                    "min_fiat_per_request",
                    "max_fiat_per_request",
                    "limits_currency",  # hidden (PartnerAdminForm.clean)
                ]
            },
        ),
        (
            "Expiry defaults (seconds)",
            {"fields": ["pos_expiry_seconds", "invoice_expiry_seconds"]},
        ),
        ("Branding", {"fields": ["logo_url", "primary_color", "secondary_color"]}),
        (
            "Rate-limit overrides",
            {
                "fields": ["rate_limit_overrides"],
                "description": (
                    'Per API endpoint group, e.g. {"requests.create": "120/m"} '
                    'or {"fx.rates": "10/5m"}.'
                ),
            },
        ),
    ]

    def get_readonly_fields(self, request, obj=None):
        return ["slug"] if obj else []  # spec §1.2: immutable after creation

    def save_model(self, request, obj: Partner, form, change: bool) -> None:
        if not change:
            super().save_model(request, obj, form, change)
            return
        # Only the columns this POST changes: the rest of the row as read for
        # it must not overwrite a portal settings change committed meanwhile
        # (the page's fingerprint covers the time before the POST).
        # ``changed_data`` is not that: it misses a value its clean rewrote
        # (an emptied overrides box saves {}).
        fields = form.columns_changed()
        if fields:
            obj.save(update_fields=fields)
        self.audit_change(obj, form, change)

    def has_delete_permission(self, request, obj=None) -> bool:
        # Its merchants, requests and plans PROTECT it, so the page only ever
        # failed; a partner that stops is switched off (is_active).
        return False


# The new key, parked for the one GET after the creating POST (post/redirect/
# get, as the portal's key page: merchants.portal.views.keys). The session
# keeps it XOR a pad, a short-lived cookie only the "created" page receives
# keeps the pad: no server store holds the key (D6), and no URL carries it.
