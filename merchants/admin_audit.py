"""The audit trail in the admin: read-only, never deleted (``merchants.audit``)."""

from __future__ import annotations

from django.contrib import admin

from .models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    show_full_result_count = False  # a growing table: one COUNT(*) per page
    list_display = ["created_at", "partner", "test_mode", "actor_kind", "actor"]
    list_display += ["action", "target"]
    list_filter = ["actor_kind", "action", "test_mode"]
    search_fields = ["=partner__slug", "=actor", "=target"]
    search_help_text = "An exact partner slug, actor (e-mail, key prefix) or target."
    list_select_related = ["partner"]
    readonly_fields = [f.name for f in AuditEntry._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
