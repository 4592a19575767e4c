"""Staff admin for partners, portal users, API keys and merchants.

Amounts and secrets are never edited in place: keys are created through the
same service as the commands (the full key is shown once, in a message) and
revoked with an action.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.utils import timezone

from .keys import VALID_SCOPES, api_key_create, api_key_revoke
from .models import ApiKey, Merchant, Partner, PartnerUser


class PartnerUserInline(admin.TabularInline):
    model = PartnerUser
    extra = 0
    raw_id_fields = ["user"]


@admin.register(Partner)
class PartnerAdmin(admin.ModelAdmin):
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
                "description": 'Per endpoint group, e.g. {"requests.create": "120/m"}.',
            },
        ),
    ]

    def get_readonly_fields(self, request, obj=None):
        return ["slug"] if obj else []  # spec §1.2: immutable after creation


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
class ApiKeyAdmin(admin.ModelAdmin):
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
    # key_hash is never shown; the full key only exists in the creation message.
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
        obj._state.adding = False
        messages.warning(request, f"New key (shown once, copy it now): {full}")

    @admin.action(description="Revoke selected keys")
    def revoke(self, request, queryset):
        for key in queryset.filter(revoked_at__isnull=True):
            api_key_revoke(key=key)
        messages.success(request, "Revoked.")


@admin.register(Merchant)
class MerchantAdmin(admin.ModelAdmin):
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
    ]
