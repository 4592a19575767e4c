"""API keys in the admin: created through the service, shown once after a
redirect, revoked with a confirmation (D6, D8)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.cache import add_never_cache_headers

from jopay_project.admin_actions import confirm_first
from jopay_project.admin_lookups import (
    DatePartLookupsCheckedMixin,
    SecretLookupsRefusedMixin,
)

from ..keys import VALID_SCOPES, api_key_create, api_key_rename, api_key_revoke
from ..models import ApiKey
from ..portal.sealing import redirect_with_pad, seal, unseal

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
class ApiKeyAdmin(
    SecretLookupsRefusedMixin, DatePartLookupsCheckedMixin, admin.ModelAdmin
):
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
            # Through the service, so the partner's Activity page shows it
            # (a plain save left no audit entry).
            api_key_rename(key=obj, name=form.cleaned_data.get("name", ""))
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
