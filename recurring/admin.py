"""Staff admin for recurring plans (support view; STYLE.md: amounts read-only).

Plans are never edited in place: pause, resume and cancel are actions that
call the same services as the API, so the same rules and locks apply. The
change page is view-only (no Save): saving it would write back every field as
read when the POST began, undoing a charge or pause committed meanwhile. Each
action leaves a LogEntry naming the staff user.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import Q, QuerySet
from django.http import HttpRequest

from jopay_project import admin_search as shape
from jopay_project.admin_actions import at_most_rows, confirm_first
from jopay_project.admin_lookups import DatePartLookupsCheckedMixin
from jopay_project.admin_sorting import IndexedSortMixin
from jopay_project.errors import JoPayError
from payments.money import SUPPORTED_CURRENCIES, format_minor

from .admin_charges import ChargeInline
from .models import Plan
from .services import FAILURES_BEFORE_PAUSE, plan_cancel, plan_pause, plan_resume


class CurrencyFilter(admin.SimpleListFilter):
    """By currency, from the supported ones: Django's own filter for a plain
    column listed the values present with a DISTINCT over every plan."""

    title = "currency"
    parameter_name = "fiat_code"

    def lookups(self, request, model_admin):
        return [(code, code) for code in SUPPORTED_CURRENCIES]

    def queryset(self, request, queryset):
        value = self.value()
        return queryset.filter(fiat_code=value) if value else queryset


class PausedByFilter(admin.SimpleListFilter):
    """Which paused plans the job paused (D29: ``FAILURES_BEFORE_PAUSE``
    failed charges in a row) and which a partner or staff paused on purpose:
    after an outage (FX, a merchant disabled for days) staff resume the first
    kind without resuming the second."""

    title = "paused by"
    parameter_name = "paused_by"

    def lookups(self, request, model_admin):
        return [
            ("failures", f"{FAILURES_BEFORE_PAUSE} failed charges in a row"),
            ("hand", "the partner or staff"),
        ]

    def queryset(self, request, queryset):
        paused = queryset.filter(status=Plan.Status.PAUSED)
        by_failures = Q(consecutive_failures__gte=FAILURES_BEFORE_PAUSE)
        if self.value() == "failures":
            return paused.filter(by_failures)
        if self.value() == "hand":
            return paused.exclude(by_failures)
        return queryset


@admin.register(Plan)
class PlanAdmin(
    IndexedSortMixin,
    shape.ExactSearchMixin,
    DatePartLookupsCheckedMixin,
    admin.ModelAdmin,
):
    # A growing table: one COUNT(*) per page, not a second of every plan.
    show_full_result_count = False
    list_display = [
        "id",
        "partner",
        "merchant",
        "amount",
        "frequency",
        "status",
        "next_charge_at",
        "charges_count",
        "consecutive_failures",
        "test_mode",
        "created_at",
    ]
    sortable_by = ("id", "created_at")  # indexed (jopay_project.admin_sorting)
    list_filter = [
        "status",
        PausedByFilter,
        "frequency",
        "collection",
        "test_mode",
        CurrencyFilter,
        "partner",
        # A date filter, not ``date_hierarchy``: that one listed the years
        # and months present with a DISTINCT over every plan on each page
        # (0.2-0.4 s at 200 k plans), as on the events list.
        ("created_at", admin.DateFieldListFilter),
    ]
    # Exact identifiers (jopay_project.admin_search): icontains on five
    # columns and two joins, OR-ed for every term, read the whole table.
    search_fields = ["id"]  # shows the box; exact_search decides
    exact_search = {
        shape.UUID: ["pk", "merchant"],  # the merchant FK has its own index
        shape.PARTNER: ["partner"],  # plan_tenant_keyset starts with it
        shape.ADDRESS: ["customer_wallet"],  # plan_customer_wallet
    }
    search_help_text = (
        "Exact match only: a plan id, a merchant id, a customer wallet "
        "(0x + 40 hex) or a partner slug. Separate several with spaces to find "
        "any of them."
    )
    list_select_related = ["partner", "merchant"]
    inlines = [ChargeInline]
    actions = ["pause_plans", "resume_plans", "cancel_plans"]
    fields = [
        "id",
        "partner",
        "test_mode",
        "merchant",
        "status",
        "fiat_amount_int",
        "fiat_code",
        "frequency",
        "collection",
        "chain_id",
        "customer_wallet",
        "customer_email",
        "metadata",
        "max_charges",
        "anchor_at",
        "next_charge_at",
        "charges_count",
        "consecutive_failures",
        "last_failure_code",
        "idempotency_key",
        "created_at",
        "paused_at",
        "owed_due_at",
        "cancelled_at",
        "completed_at",
    ]
    readonly_fields = fields

    @admin.display(description="Amount", ordering="fiat_amount_int")
    def amount(self, obj: Plan) -> str:
        return f"{format_minor(obj.fiat_amount_int, obj.fiat_code)} {obj.fiat_code}"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # plans are created over the API (or the portal)

    def has_delete_permission(
        self, request: HttpRequest, obj: Plan | None = None
    ) -> bool:
        return False  # charges point at payment requests; cancel instead

    def has_change_permission(
        self, request: HttpRequest, obj: Plan | None = None
    ) -> bool:
        # Never saved from the change form (a stale full-row write): the page
        # is view-only, its POST is refused; the actions call the services.
        return False

    def has_support_permission(self, request: HttpRequest) -> bool:
        """The actions: staff holding the model's change permission."""
        return request.user.has_perm("recurring.change_plan")

    def _apply(
        self, request: HttpRequest, queryset: QuerySet[Plan], service, verb: str
    ) -> None:
        done, refused = 0, []
        for plan in queryset.select_related("partner"):
            try:
                fresh = service(tenant=plan.tenant, plan_id=plan.pk)
            except JoPayError as exc:
                refused.append(f"{plan.pk}: {exc.code}")
            else:
                done += 1
                self.log_change(request, fresh, f"{verb} the plan")
        if done:
            self.message_user(request, f"{verb} {done} plan(s).", messages.SUCCESS)
        if refused:
            self.message_user(
                request, f"Not {verb.lower()}: " + "; ".join(refused), messages.WARNING
            )

    @admin.action(permissions=["support"], description="Pause selected plans")
    @at_most_rows  # "Select all" of every plan: not in one click
    def pause_plans(self, request: HttpRequest, queryset: QuerySet[Plan]) -> None:
        self._apply(request, queryset, plan_pause, "Paused")

    @admin.action(
        permissions=["support"],
        # D29: a slot owed from before the pause first, else the next after now.
        description="Resume selected plans",
    )
    @at_most_rows
    def resume_plans(self, request: HttpRequest, queryset: QuerySet[Plan]) -> None:
        self._apply(request, queryset, plan_resume, "Resumed")

    @admin.action(permissions=["support"], description="Cancel selected plans")
    @confirm_first(
        consequence="A cancelled plan creates no more charges and cannot be "
        "resumed (plan_already_terminated, D35); the customer needs a new plan."
    )
    def cancel_plans(self, request: HttpRequest, queryset: QuerySet[Plan]) -> None:
        self._apply(request, queryset, plan_cancel, "Cancelled")
