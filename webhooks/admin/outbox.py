"""The outbox's admin: events and deliveries are read-only (D24); a delivery
can be resent, one more attempt with the same ``delivery_id``."""

from __future__ import annotations

from django.contrib import admin, messages

from jopay_project import admin_search as shape
from jopay_project.admin_actions import at_most_rows
from jopay_project.admin_lookups import DatePartLookupsCheckedMixin
from jopay_project.admin_sorting import IndexedSortMixin
from jopay_project.errors import JoPayError

from ..models import WebhookAttempt, WebhookDelivery, WebhookEvent
from ..services import webhook_delivery_resend


class ReadOnlyMixin:
    """The outbox is written by the services only (D24)."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        # A deleted event or delivery is a webhook the partner never gets,
        # with no record of why; old ones are purged by the services (D36).
        return False


@admin.register(WebhookEvent)
class WebhookEventAdmin(
    IndexedSortMixin,
    ReadOnlyMixin,
    shape.ExactSearchMixin,
    DatePartLookupsCheckedMixin,
    admin.ModelAdmin,
):
    # Growing tables: one COUNT(*) of the whole table per page, not two.
    show_full_result_count = False
    list_display = [
        "id",
        "type",
        "partner",
        "test_mode",
        "request_id",
        "sequence",
        "created_at",
    ]
    # The primary key, event_request and the created_at index (admin_sorting).
    sortable_by = ("id", "request_id", "created_at")
    # A date filter, not ``date_hierarchy``: that one lists the months present
    # with a DISTINCT over the whole table on every page.
    list_filter = ["type", "test_mode", ("created_at", admin.DateFieldListFilter)]
    # Exact identifiers on indexes (jopay_project.admin_search): "=id" was
    # UPPER(id::text) = UPPER('…'), and the partner join ran for every term.
    search_fields = ["id"]  # shows the box; exact_search decides
    exact_search = {
        shape.UUID: ["pk", "request_id"],  # event_request starts with it
        shape.PARTNER: ["partner"],  # event_tenant_keyset starts with it
    }
    search_help_text = (
        "Exact match only: an event id, a payment request id or a partner slug. "
        "Separate several with spaces to find any of them."
    )


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    can_delete = False
    fields = [
        "number",
        "started_at",
        "status_code",
        "latency_ms",
        "error",
        "response_body",
    ]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(
    IndexedSortMixin,
    ReadOnlyMixin,
    shape.ExactSearchMixin,
    DatePartLookupsCheckedMixin,
    admin.ModelAdmin,
):
    # Growing tables: one COUNT(*) of the whole table per page, not two.
    show_full_result_count = False
    list_display = [
        "id",
        "partner",
        "test_mode",
        "state",
        "attempts",
        "last_status_code",
        "next_attempt_at",
        "delivered_at",
        "abandoned_reason",
    ]
    sortable_by = ("id",)  # the primary key (jopay_project.admin_sorting)
    list_filter = ["state", "test_mode", "abandoned_reason"]
    # As for events: "=id" and "=event__id" compared UPPER(…::text).
    search_fields = ["id"]  # shows the box; exact_search decides
    exact_search = {
        # The (event, endpoint) unique index starts with the event.
        shape.UUID: ["pk", "event"],
        shape.PARTNER: ["partner"],
    }
    search_help_text = (
        "Exact match only: a delivery id (the delivery_id receivers see), an "
        "event id or a partner slug. Separate several with spaces to find any "
        "of them."
    )
    list_select_related = ["partner"]
    inlines = [WebhookAttemptInline]
    actions = ["resend"]
    exclude = ["locked_until", "enqueued_at"]

    def has_resend_permission(self, request) -> bool:
        # Deliveries are read-only here; resending is a change of the outbox.
        return request.user.has_perm("webhooks.change_webhookdelivery")

    @admin.action(
        permissions=["resend"],
        description="Resend (one more attempt, same delivery_id)",
    )
    @at_most_rows  # "Select all" of a million deliveries: not in one click
    def resend(self, request, queryset) -> None:
        sent = 0
        for delivery in queryset:
            try:
                fresh = webhook_delivery_resend(delivery=delivery)
            except JoPayError as exc:
                self.message_user(
                    request,
                    f"Delivery {delivery.pk}: {exc.message}",
                    messages.ERROR,
                )
            else:
                sent += 1
                self.log_change(request, fresh, "Resent (one more attempt)")
        if sent:
            self.message_user(request, f"Queued {sent} delivery attempt(s).")
