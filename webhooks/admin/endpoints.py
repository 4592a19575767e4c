"""The endpoint's admin: its URL (D26-checked), its switch and its state."""

from __future__ import annotations

import time

from django import forms
from django.contrib import admin, messages

from jopay_project.admin_actions import at_most_rows, confirm_first
from jopay_project.admin_lookups import (
    DatePartLookupsCheckedMixin,
    SecretLookupsRefusedMixin,
)
from jopay_project.errors import ErrorCode, JoPayError
from merchants.admin.stale_edits import StaleEditGuardForm

from .. import urlsafety
from ..models import WebhookEndpoint
from ..services import endpoints, webhook_endpoint_set


class WebhookEndpointForm(StaleEditGuardForm):
    # StaleEditGuardForm: a page drawn before the partner moved its URL (portal,
    # API) put the old URL back when saved; it is refused instead (loaded_as).

    class Meta:
        model = WebhookEndpoint
        fields = ["url"]

    def clean_url(self) -> str:
        # D26's check, here so a refused URL shows on the form. Refused in
        # save_model, the admin said "changed successfully" and logged a change.
        url = self.cleaned_data.get("url") or ""
        if url:
            # The look-up waits as long as the API's and the portal's (D26).
            deadline = time.monotonic() + endpoints.SAVE_RESOLVE_SECONDS
            try:
                urlsafety.check_url(url, deadline=deadline)
            except urlsafety.UnsafeUrlError as exc:
                raise forms.ValidationError(
                    f"{ErrorCode.INVALID_WEBHOOK_URL}: {exc}"
                ) from None
        return url


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(
    SecretLookupsRefusedMixin, DatePartLookupsCheckedMixin, admin.ModelAdmin
):
    form = WebhookEndpointForm
    secret_fields = ("secret", "previous_secret")  # no lookup oracle (D8, D25)
    list_display = [
        "partner",
        "url",
        "enabled",
        "rotation_pending",
        "failing_since",
        "slow_since",
        "disabled_reason",
    ]
    list_filter = ["enabled", "disabled_reason"]
    search_fields = ["partner__slug", "url"]
    # Secrets stay out of every form and list (D25: shown to the partner once).
    fields = [
        "partner",
        "url",
        "loaded_as",  # hidden: refuses a save over a newer row (stale_edits)
        "enabled",
        "enabled_at",
        "failing_since",
        "slow_since",
        "disabled_at",
        "disabled_reason",
    ]
    readonly_fields = [
        "partner",
        "enabled",
        "enabled_at",
        "failing_since",
        "slow_since",
        "disabled_at",
        "disabled_reason",
    ]
    actions = ["enable", "disable"]

    def has_add_permission(self, request) -> bool:
        return False  # created by the services (portal, API, create_partner)

    def has_delete_permission(self, request, obj=None) -> bool:
        # Deleting it cascaded to every delivery, pending ones included,
        # with no abandon reason; disable it instead (webhook_endpoint_set).
        return False

    @admin.display(boolean=True)
    def rotation_pending(self, obj: WebhookEndpoint) -> bool:
        return obj.rotation_pending

    def save_model(self, request, obj, form, change) -> None:
        try:
            # An empty URL switches sending off: staff's doing, which the
            # portal tells the partner (as with the Disable action).
            webhook_endpoint_set(
                partner=obj.partner,
                url=form.cleaned_data["url"],
                disabled_by=WebhookEndpoint.DisabledReason.STAFF,
            )
        except JoPayError as exc:
            self.message_user(request, f"Not saved: {exc.message}", messages.ERROR)

    @admin.action(
        permissions=["change"],
        description="Enable webhooks (no backfill of earlier events)",
    )
    @at_most_rows
    def enable(self, request, queryset) -> None:
        for endpoint in queryset:
            try:
                fresh, secret = webhook_endpoint_set(
                    partner=endpoint.partner, enabled=True
                )
            except JoPayError as exc:
                self.message_user(
                    request, f"{endpoint.partner}: {exc.message}", messages.ERROR
                )
                continue
            if fresh.enabled_at == endpoint.enabled_at:
                self._unchanged(request, endpoint, "on")
                continue
            self.log_change(request, fresh, "Enabled webhooks")
            if secret:
                # Staff never see a partner's secret (D25); the partner must
                # learn it, or every delivery fails its signature check.
                self.message_user(
                    request,
                    f"{endpoint.partner}: a signing secret was generated. The "
                    "partner sees it in the portal (Webhooks, Reveal secret) "
                    "and must install it before deliveries verify.",
                    messages.WARNING,
                )

    @admin.action(
        permissions=["change"],
        description="Disable webhooks (abandons pending deliveries)",
    )
    @confirm_first(
        consequence="Every pending delivery of these partners is abandoned "
        "(endpoint_disabled) and nothing is sent until webhooks are enabled "
        "again; events from the gap are never sent (no backfill, D24)."
    )
    def disable(self, request, queryset) -> None:
        for endpoint in queryset:
            # Its own reason, not the partner's switch: the portal tells the
            # partner that JoPay switched it off (a partner who did not would
            # otherwise find it off with no alert).
            fresh, _ = webhook_endpoint_set(
                partner=endpoint.partner,
                enabled=False,
                disabled_by=WebhookEndpoint.DisabledReason.STAFF,
            )
            if fresh.disabled_at == endpoint.disabled_at:
                self._unchanged(request, endpoint, "off")
                continue
            self.log_change(request, fresh, "Disabled webhooks")

    def _unchanged(self, request, endpoint: WebhookEndpoint, state: str) -> None:
        # Already so (the partner switched after the list was drawn): no
        # history names staff, and the partner's own reason stands.
        self.message_user(
            request,
            f"{endpoint.partner}: webhooks were already {state}; nothing was changed.",
            messages.WARNING,
        )
