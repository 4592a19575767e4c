"""The audit trail in the admin: read-only, never deleted (``merchants.audit``)."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Q
from django.utils.text import smart_split, unescape_string_literal

from jopay_project.admin_lookups import DatePartLookupsCheckedMixin, _unstorable
from jopay_project.admin_search import MAX_TERMS
from jopay_project.admin_sorting import IndexedSortMixin

from ..audit import audit_record
from ..models import AuditEntry, Partner


class AuditedChangesMixin:
    """Records a staff edit of a partner's data in the audit trail.

    The admin saves these rows through the ORM, not the services that audit;
    the change view runs in a transaction, so the entry shares it. The names
    of the changed fields are kept, and for ``audit_values`` (payout
    addresses: never a secret) what it was and what it became: the admin's
    own history (LogEntry) keeps field names only.
    """

    audit_action = ""
    audit_values: tuple[str, ...] = ()

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        self.audit_change(obj, form, change)

    def audit_change(self, obj, form, change) -> None:
        if change and form.changed_data:
            partner = getattr(obj, "partner", obj)
            details = {"changed": sorted(form.changed_data)}
            for name in self.audit_values:
                if name in form.changed_data:
                    was = form.initial.get(name) or ""
                    # Same-length keys: jsonb orders keys by length, then bytes.
                    details[name] = {"from": was, "into": getattr(obj, name)}
            audit_record(
                partner=partner,
                test_mode=getattr(obj, "test_mode", None),
                action=self.audit_action,
                target=obj.pk,
                details=details,
            )


@admin.register(AuditEntry)
class AuditEntryAdmin(IndexedSortMixin, DatePartLookupsCheckedMixin, admin.ModelAdmin):
    show_full_result_count = False  # a growing table: one COUNT(*) per page
    list_display = ["created_at", "partner", "test_mode", "actor_kind", "actor"]
    list_display += ["action", "target"]
    # Newest first by id only: no index leads with any column shown (a sort
    # by action read all 300 k entries; jopay_project.admin_sorting).
    sortable_by = ()
    # Not ``action``: its filter lists the values with SELECT DISTINCT over
    # the whole (growing) table on every page.
    list_filter = ["actor_kind", "test_mode"]  # actor_kind: audit_actor_kind
    search_fields = ["actor"]  # shows the box; get_search_results decides
    search_help_text = (
        "An exact partner slug, actor (e-mail, key prefix) or target, in any "
        'case; quote one with a space ("manage.py set_fx_rate").'
    )
    list_select_related = ["partner"]
    readonly_fields = [f.name for f in AuditEntry._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_search_results(self, request, queryset, search_term):
        """Each term is a partner slug, an actor or a target, in any case; all
        terms must match (as Django's own search). Was ``=partner__slug``,
        ``=actor``, ``=target``: UPPER() of columns no index served, OR-ed
        with a join to partners, so every search read the whole trail. Now
        the partner by its id (``audit_partner``) and UPPER(actor), UPPER(target)
        by their own indexes.
        """
        terms = []
        for bit in smart_split(search_term):
            if bit.startswith(('"', "'")) and bit[0] == bit[-1]:
                bit = unescape_string_literal(bit)
            terms.append(bit)
        if not terms:
            return queryset, False
        if any(_unstorable(term) for term in terms):
            return queryset.none(), False
        match = Q()
        for term in terms[:MAX_TERMS]:
            slug = Partner.objects.filter(slug=term.lower())
            match &= (
                Q(actor__iexact=term)
                | Q(target__iexact=term)
                | Q(partner__in=list(slug.values_list("pk", flat=True)))
            )
        return queryset.filter(match), False
