"""Staff admin for partners, portal users, API keys and merchants.

Amounts and secrets are never edited in place: keys are created through the
same service as the commands (the full key is shown once, on the page the
creating POST redirects to, D6) and revoked with an action that leaves a
LogEntry naming the staff user. Merchants are created over the API, never
here. What staff may type is held to the rules the API applies, so the admin
cannot store a value the API would later choke on: rate-limit overrides the
limiter parses (D27), EIP-55/hex addresses, the auto-forward rule of D29 and
the partner settings' bounds the portal applies (D11, D13; Partner.clean).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers

from jopay_project.admin_actions import confirm_first
from jopay_project.admin_lookups import SecretLookupsRefusedMixin
from jopay_project.errors import ErrorCode, JoPayError
from jopay_project.executors import auto_forward_enabled

from .addresses import receiving_address_validate
from .admin_audit import AuditedChangesMixin  # also registers AuditEntry
from .keys import VALID_SCOPES, api_key_create, api_key_revoke
from .models import ApiKey, Merchant, Partner, PartnerUser
from .partners import rate_limit_overrides_clean
from .portal.sealing import redirect_with_pad, seal, unseal
from .services import currency_enabled_check
from .validation import has_unstorable_chars, validate_country, validate_email


def _form_error(exc: JoPayError) -> forms.ValidationError:
    """The API's refusal as a form error, with the code the API would answer."""
    return forms.ValidationError(f"{exc.message} ({exc.code})", code=str(exc.code))


class PartnerAdminForm(forms.ModelForm):
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

    def clean_rate_limit_overrides(self):
        # jopay_project.api reads ``overrides.get(group)`` and hands the value
        # to the limiter on every call: anything it cannot parse is a 500 for
        # every API call of this partner, so it is refused here.
        return rate_limit_overrides_clean(self.cleaned_data.get("rate_limit_overrides"))


class PartnerUserInline(admin.TabularInline):
    model = PartnerUser
    extra = 0
    raw_id_fields = ["user"]

    def get_queryset(self, request):
        # Each row's title reads its user and partner: two queries a row.
        return super().get_queryset(request).select_related("user", "partner")


@admin.register(Partner)
class PartnerAdmin(AuditedChangesMixin, admin.ModelAdmin):
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
        (None, {"fields": ["slug", "name", "is_active"]}),
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

    def has_delete_permission(self, request, obj=None) -> bool:
        # Its merchants, requests and plans PROTECT it, so the page only ever
        # failed; a partner that stops is switched off (is_active).
        return False


# The new key, parked for the one GET after the creating POST (post/redirect/
# get, as the portal's key page: merchants.portal.views.keys). The session
# keeps it XOR a pad, a short-lived cookie only the "created" page receives
# keeps the pad: no server store holds the key (D6), and no URL carries it.
SESSION_NEW_KEY = "admin_new_api_key"
NEW_KEY_COOKIE = "jopay_admin_new_key_pad"
NEW_KEY_SECONDS = 600  # the redirect is followed at once; a stale half expires
CREATED_URL_NAME = "admin:merchants_apikey_created"


class ApiKeyCreateForm(forms.ModelForm):
    mode = forms.ChoiceField(choices=[("test", "test"), ("live", "live")])
    scope_list = forms.MultipleChoiceField(
        choices=[(s, s) for s in sorted(VALID_SCOPES)],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="Leave all unticked for an unrestricted key (D7).",
    )

    class Meta:
        model = ApiKey
        fields = ["partner", "name", "expires_at"]

    def clean_expires_at(self):
        value = self.cleaned_data.get("expires_at")
        if value and value <= timezone.now():
            raise forms.ValidationError("The expiry is in the past.")
        return value


@admin.register(ApiKey)
class ApiKeyAdmin(SecretLookupsRefusedMixin, admin.ModelAdmin):
    secret_fields = ("key_hash",)  # no lookup oracle (D8, D25)
    list_display = [
        "prefix",
        "name",
        "partner",
        "mode",
        "scopes",
        "last_used_at",
        "expires_at",
        "revoked_at",
        "created_at",
    ]
    list_filter = ["test_mode", "revoked_at"]
    search_fields = ["prefix", "name", "partner__slug"]
    actions = ["revoke"]
    # key_hash is never shown; the full key only exists in the creation answer.
    readonly_fields = [
        "partner",
        "prefix",
        "mode",
        "scopes",
        "expires_at",
        "revoked_at",
        "last_used_at",
        "created_at",
    ]
    fields = [
        "partner",
        "name",
        "prefix",
        "mode",
        "scopes",
        "expires_at",
        "revoked_at",
        "last_used_at",
        "created_at",
    ]

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = ApiKeyCreateForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["partner", "name", "mode", "scope_list", "expires_at"]
        return self.fields

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj else []

    def has_delete_permission(self, request, obj=None) -> bool:
        # Revoke instead (D8): a deleted key leaves no trace of when it
        # stopped working, and no log of who stopped it.
        return False

    def save_model(self, request, obj, form, change):
        if change:
            obj.save(update_fields=["name"])
            return
        key, full = api_key_create(
            partner=form.cleaned_data["partner"],
            test_mode=form.cleaned_data["mode"] == "test",
            name=form.cleaned_data.get("name", ""),
            scopes=form.cleaned_data["scope_list"] or None,
            expires_at=form.cleaned_data.get("expires_at"),
        )
        obj.pk = key.pk
        obj.refresh_from_db()  # prefix & co., for the log entry and the page
        obj._state.adding = False
        # For response_add only. Never in a message: the message store is a
        # cookie, so the key would travel in Set-Cookie and come back on every
        # request until shown (D6).
        obj._full_key_once = full

    def response_add(self, request, obj, post_url_continue=None):
        """Redirect to the page that shows the key once (post/redirect/get).

        The key used to be on the answer to the POST itself: reloading that
        page sent the form again and created a second key.
        """
        full = getattr(obj, "_full_key_once", None)
        if full is None:
            return super().response_add(request, obj, post_url_continue)
        sealed, pad = seal(full)
        request.session[SESSION_NEW_KEY] = {"sealed": sealed, "key_id": str(obj.pk)}
        return redirect_with_pad(
            request,
            CREATED_URL_NAME,
            cookie=NEW_KEY_COOKIE,
            pad=pad,
            max_age=NEW_KEY_SECONDS,
        )

    def get_urls(self):
        created = path(
            "created/",
            self.admin_site.admin_view(self.created_view),
            name=CREATED_URL_NAME.removeprefix("admin:"),
        )
        return [created, *super().get_urls()]

    def created_view(self, request: HttpRequest) -> HttpResponse:
        """D6: the key created just before, shown on this one view, uncached.

        Both halves are taken on the first GET, so a reload (or any later
        visit) shows nothing and creates nothing.
        """
        if not self.has_add_permission(request):
            raise PermissionDenied
        parked = request.session.pop(SESSION_NEW_KEY, None)
        full, key = None, None
        if isinstance(parked, dict):
            full = unseal(parked.get("sealed"), request.COOKIES.get(NEW_KEY_COOKIE))
            if full is not None and full.startswith("jo_"):
                key = (
                    ApiKey.objects.select_related("partner")
                    .filter(pk=parked.get("key_id"))
                    .first()
                )
        if key is None:
            self.message_user(
                request,
                "The new key can no longer be shown: it is shown once, in the "
                "browser that created it. If it was not copied, revoke it and "
                "create another.",
                messages.WARNING,
            )
            response: HttpResponse = redirect("admin:merchants_apikey_changelist")
        else:
            context = {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "original": key,
                "full_key": full,
                "title": "API key created",
            }
            response = TemplateResponse(
                request, "admin/merchants/apikey/created.html", context
            )
            add_never_cache_headers(response)  # Cache-Control: no-store, private
        if NEW_KEY_COOKIE in request.COOKIES:
            response.delete_cookie(
                NEW_KEY_COOKIE, path=reverse(CREATED_URL_NAME), samesite="Strict"
            )
        return response

    @admin.action(permissions=["change"], description="Revoke selected keys")
    @confirm_first(
        consequence="A revoked key fails its next request with auth_failed and "
        "cannot be restored (D8): the partner must deploy a new key first."
    )
    def revoke(self, request, queryset):
        revoked, already = 0, 0
        for key in queryset:
            if key.revoked_at is not None:
                already += 1
                continue
            fresh = api_key_revoke(key=key)
            revoked += 1
            self.log_change(request, fresh, "Revoked the key")
        # "Revoked." was said even when every key had been revoked before.
        text = f"Revoked {revoked} key(s)."
        if already:
            text += f" {already} already revoked, left as they were."
        self.message_user(
            request, text, messages.SUCCESS if revoked else messages.WARNING
        )


# The merchant's free-text profile fields (spec §5.1): the API refuses control
# characters in them (``invalid_request`` with ``field``).
_PROFILE_TEXT_FIELDS = (
    "display_name",
    "business_name",
    "phone",
    "website",
    "instagram",
    "industry",
)


class MerchantAdminForm(forms.ModelForm):
    """The checks ``merchant_create`` / ``merchant_update`` apply (D12, D28, D29, D34).

    Like a PATCH, which checks only the fields it carries, a field is checked
    when staff changed it: a row stored before a rule existed never blocks an
    urgent edit of another field (disabling the merchant, say).

    No Meta: ModelAdmin builds the form for Merchant from its own fields.
    """

    def _check(self, name: str, validate) -> str:
        value = self.cleaned_data.get(name, "")
        if value and name in self.changed_data:
            try:
                validate(value)
            except JoPayError as exc:
                raise _form_error(exc) from None
        return value

    def clean_email(self) -> str:
        return self._check("email", validate_email)  # D34: invalid_email

    def clean_country(self) -> str:
        # The API takes ISO 3166-1 alpha-2 in upper case only; "de" typed
        # here is stored as "DE", which the API then reads back unchanged.
        self.cleaned_data["country"] = self.cleaned_data.get("country", "").upper()
        return self._check("country", validate_country)  # D34: invalid_country

    def clean_display_currency(self) -> str:
        # D12: the field's choices are the 28 (invalid_currency); a currency
        # the partner has not enabled made every request of this merchant
        # answer unsupported_currency. The service's own check.
        return self._check(
            "display_currency",
            lambda value: currency_enabled_check(self.instance.partner, value),
        )

    def _address(self, name: str, code: ErrorCode) -> str:
        value = self.cleaned_data.get(name, "")
        if value:
            try:  # D28: as the services check: not zero, not a USDC contract
                receiving_address_validate(address=value, code=code)
            except JoPayError as exc:
                raise _form_error(exc) from None
        return value

    def clean_wallet_address(self):
        return self._address("wallet_address", ErrorCode.INVALID_WALLET_ADDRESS)

    def clean_withdraw_address(self):
        return self._address("withdraw_address", ErrorCode.INVALID_WITHDRAW_ADDRESS)

    def clean(self):
        data = super().clean()
        for name in _PROFILE_TEXT_FIELDS:
            value = data.get(name)
            if value and name in self.changed_data and has_unstorable_chars(value):
                # As the API: NUL cannot be stored, and a bell or a newline in
                # a name lands on every pay page and receipt.
                self.add_error(
                    name,
                    _form_error(
                        JoPayError(
                            ErrorCode.INVALID_REQUEST,
                            "The text holds a control character.",
                            field=name,
                        )
                    ),
                )
        if "withdraw_address" in self.errors or "auto_forward" not in data:
            return data
        withdraw = data.get("withdraw_address", "")
        if data["auto_forward"] and "auto_forward" in self.changed_data:
            # As a PATCH with ``auto_forward: true`` (merchant_update).
            if not auto_forward_enabled():
                self.add_error(
                    "auto_forward",
                    _form_error(
                        JoPayError(ErrorCode.AUTO_FORWARD_REQUIRES_EMBEDDED_WALLET)
                    ),
                )
            elif not withdraw:
                self.add_error(
                    "withdraw_address",
                    _form_error(JoPayError(ErrorCode.INVALID_WITHDRAW_ADDRESS)),
                )
        elif "withdraw_address" in self.changed_data or not withdraw:
            # spec §11.1: a grant pins the destination, so a new (or no)
            # withdraw address switches auto-forward off, as merchant_update does.
            data["auto_forward"] = False
        return data


@admin.register(Merchant)
class MerchantAdmin(AuditedChangesMixin, SecretLookupsRefusedMixin, admin.ModelAdmin):
    audit_action = "merchant.updated"
    secret_fields = ("onboarding_token_hash",)  # no lookup oracle (D8, D25)
    form = MerchantAdminForm
    list_display = [
        "__str__",
        "partner",
        "test_mode",
        "onboarding_status",
        "disabled",
        "wallet_address",
        "created_at",
    ]
    list_filter = ["test_mode", "onboarding_status", "disabled", "partner"]
    search_fields = ["id", "business_name", "display_name", "email", "wallet_address"]
    readonly_fields = [
        "id",
        "partner",
        "test_mode",
        "created_at",
        "updated_at",
        "onboarding_token_hash",
        "onboarding_token_expires_at",
        "idempotency_key",
        "idempotency_hash",
        "terms_accepted_at",
        # Follows the wallet (save_model): set by hand, it made a "complete"
        # merchant with no wallet that nothing could make ready again.
        "onboarding_status",
    ]

    def save_model(self, request, obj: Merchant, form, change: bool) -> None:
        if "wallet_address" in form.changed_data:
            # D28: a wallet makes the merchant complete (an external wallet, as
            # at create); none makes it incomplete, with a fresh link on the
            # next read. Either way the old link dies: it must not set a
            # wallet over the one staff just entered, nor come back to life.
            obj.onboarding_status = (
                Merchant.OnboardingStatus.COMPLETE
                if obj.wallet_address
                else Merchant.OnboardingStatus.INCOMPLETE
            )
            obj.onboarding_token_hash = ""
            obj.onboarding_token_expires_at = None
        super().save_model(request, obj, form, change)

    def has_delete_permission(self, request, obj=None) -> bool:
        # Requests and plans PROTECT it; a merchant that must stop is
        # disabled (D28: requests then answer merchant_not_ready).
        return False

    def has_add_permission(self, request) -> bool:
        # Merchants are created over the API (D28: onboarding link, currency
        # and wallet checks, idempotency). The add form could not even save:
        # partner and mode are read-only here, so it was a 500.
        return False
