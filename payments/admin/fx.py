"""FX rates in the admin: manual rates go through ``fx_rate_set_manual`` (pinned,
D31); "Refresh from feeds" (a button and an action) calls ``fx_refresh``.
Clearing a pin leaves a LogEntry naming the staff user."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import path, reverse

from jopay_project.admin_actions import confirm_first
from jopay_project.admin_lookups import DatePartLookupsCheckedMixin
from merchants.admin import PartnerAdmin
from merchants.admin.stale_edits import StaleEditGuardForm
from payments.fx.fetch import TRIES
from payments.models import FxRate
from payments.money import RATE_MAX, RATE_MIN, SUPPORTED_CURRENCIES, rate_in_range
from payments.selectors import fx_rate_is_stale
from payments.services import fx_rate_clear_manual, fx_rate_set_manual, fx_refresh
from payments.services.fx import fx_rate_needs_second_look

# What a refresh from the admin may take in all, well under gunicorn's 30 s
# worker timeout (OPERATIONS.md). At D14's 10 s a try, two tries of each of
# the two default feeds took 40 s when both hung (an egress firewall dropping
# packets): gunicorn killed the worker, staff got a 502 instead of "Every feed
# failed; the last good rates stay". The scheduled refresh keeps 10 s a try.
REFRESH_BUDGET_SECONDS = 20


def refresh_timeout() -> float:
    """Seconds per try, so that every try of every feed fits the budget."""
    tries = TRIES * max(1, len(settings.JOPAY_FX_FEEDS))
    return min(settings.JOPAY_FX_TIMEOUT_SECONDS, REFRESH_BUDGET_SECONDS / tries)


class FxRateForm(StaleEditGuardForm):
    """Manual rates only: they are saved through ``fx_rate_set_manual`` (pinned)."""

    currency = forms.ChoiceField(choices=[(c, c) for c in SUPPORTED_CURRENCIES])
    rate = forms.DecimalField(
        max_digits=38,
        decimal_places=18,
        min_value=Decimal("0.000000000000000001"),
        help_text="Fiat units per 1 USDC, e.g. 0.92 for EUR.",
    )

    class Meta:
        model = FxRate
        fields = ["currency", "partner", "rate"]

    def fingerprinted(self) -> list[str]:
        # The rate as the change page drew it (loaded_as, StaleEditGuardForm).
        # A page opened before the feeds' refresh (every 30 min) posted the
        # old rate on a plain Save, which then read as a new one and was
        # pinned: a stale rate, frozen (D14, D31).
        return ["rate"]

    def clean_rate(self) -> Decimal:
        rate = self.cleaned_data["rate"]
        if not rate_in_range(rate):
            raise forms.ValidationError(
                f"Not a plausible rate: at least {RATE_MIN} and below {RATE_MAX} "
                "fiat units per USDC."
            )
        return rate

    confirm = forms.BooleanField(
        required=False,
        label="I checked this rate",
        help_text="Needed for a rate more than 10 % from the current global one.",
    )

    def clean(self):
        cleaned = super().clean()  # refuses a page drawn from an older rate
        # The change page has no currency field (read-only there): the row's.
        currency = cleaned.get("currency") or (
            self.instance.currency if self.instance.pk else None
        )
        rate = cleaned.get("rate")
        if currency and rate and not cleaned.get("confirm"):
            # An inverted rate (USD per EUR typed for EUR per USDC) mis-prices
            # every request in the currency: a second look first.
            off = fx_rate_needs_second_look(currency=currency, rate=rate)
            if off is not None:
                self.add_error(
                    "rate",
                    f"{off:.0%} away from the current global {currency} rate. "
                    f'A rate is {currency} per 1 USDC. Tick "I checked this rate" '
                    "to save it anyway.",
                )
        if self.instance.pk is None and cleaned.get("currency"):
            # D31: setting a rate for a currency (and scope) that has one
            # replaces it, like ``set_fx_rate``: validate against that row.
            existing = FxRate.objects.filter(
                currency=cleaned["currency"], partner=cleaned.get("partner")
            ).first()
            if existing is not None:
                self.instance = existing
        return cleaned


@admin.register(FxRate)
class FxRateAdmin(DatePartLookupsCheckedMixin, admin.ModelAdmin):
    form = FxRateForm
    list_display = [
        "currency",
        "scope",
        "rate",
        "source",
        "pinned",
        "fetched_at",
        "stale",
    ]
    list_filter = ["pinned", "source", "currency"]
    search_fields = ["currency", "partner__slug"]
    list_select_related = ["partner"]
    readonly_fields = ["source", "pinned", "fetched_at"]
    actions = ["refresh_from_feeds", "clear_manual"]
    change_list_template = "admin/payments/fxrate/change_list.html"

    @admin.display(description="Scope")
    def scope(self, obj: FxRate) -> str:
        return obj.partner.slug if obj.partner_id else "global"

    @admin.display(description="Stale", boolean=True)
    def stale(self, obj: FxRate) -> bool:
        return fx_rate_is_stale(obj)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        # "Clear the manual pin" instead (fx_rate_clear_manual, D31): deleting
        # a global row left its currency with no rate at all (fx_unavailable
        # for every request in it), and no log of who did it.
        return False

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:  # the currency and scope of a row never change
            return ["currency", "partner", *self.readonly_fields]
        return self.readonly_fields

    def save_model(self, request, obj: FxRate, form, change: bool) -> None:
        # D31: an admin-entered rate is a manual, pinned rate; the service
        # upserts the (currency, partner) row, so saving never duplicates one.
        if change and "rate" not in form.changed_data:
            # Save pressed on a feed rate without entering one: pinning it
            # would freeze the currency (a pin is never overwritten by the
            # feeds and never goes stale, D14).
            self.message_user(request, "The rate was not changed: nothing saved.")
            return
        try:
            saved = fx_rate_set_manual(
                currency=obj.currency, rate=obj.rate, partner=obj.partner
            )
        except ValueError as exc:
            self.message_user(request, f"Not saved: {exc}", messages.ERROR)
            return
        obj.pk = saved.pk
        obj.refresh_from_db()

    @admin.action(
        permissions=["change"], description="Refresh all rates from the feeds"
    )
    def refresh_from_feeds(self, request: HttpRequest, queryset) -> None:
        self._refresh(request)

    @admin.action(permissions=["change"], description="Clear the manual pin")
    @confirm_first(
        consequence="A global rate is unpinned: the next feed refresh overwrites "
        "it. A partner override is deleted: the partner prices with the global "
        "rate again at once (D31). To pin again, enter the rate anew."
    )
    def clear_manual(self, request: HttpRequest, queryset) -> None:
        cleared = 0
        for rate in queryset.filter(pinned=True).select_related("partner"):
            if fx_rate_clear_manual(currency=rate.currency, partner=rate.partner):
                cleared += 1
                # A partner override is deleted; the global row is unpinned.
                what = "deleted the override" if rate.partner_id else "unpinned"
                self.log_change(request, rate, f"Cleared the manual pin ({what})")
        self.message_user(request, f"Cleared {cleared} manual rate(s).")

    def _refresh(self, request: HttpRequest) -> None:
        if not settings.JOPAY_FX_FEEDS:
            # Pinned rates only, as the operator chose (README): nothing failed.
            self.message_user(
                request,
                "No feed is configured (JOPAY_FX_FEEDS is empty): rates are "
                "pinned by hand only. Nothing was refreshed.",
                messages.WARNING,
            )
            return
        result = fx_refresh(timeout=refresh_timeout())
        if not result.ok:
            self.message_user(
                request,
                "Every feed failed; the last good rates stay. "
                + "; ".join(result.errors),
                messages.ERROR,
            )
            return
        self.message_user(
            request,
            f"Refreshed from {result.source}: {len(result.changed)} changed, "
            f"{len(result.unchanged)} unchanged, {len(result.skipped_pinned)} pinned "
            "left alone"
            + (
                f", {len(result.skipped_newer)} kept from a later refresh."
                if result.skipped_newer
                else "."
            ),
        )
        if result.missing:
            self.message_user(
                request,
                f"No feed gave {', '.join(result.missing)}: each goes stale 24 h "
                "after its last rate. Pin a rate for those in use.",
                messages.WARNING,
            )

    def get_urls(self):
        urls = [
            path(
                "refresh/",
                self.admin_site.admin_view(self.refresh_view),
                name="payments_fxrate_refresh",
            )
        ]
        return urls + super().get_urls()

    def changelist_view(self, request: HttpRequest, extra_context=None):
        # The button only for staff who may refresh: a view-only user's click
        # did nothing and said nothing.
        extra_context = {
            **(extra_context or {}),
            "may_refresh": self.has_change_permission(request),
        }
        return super().changelist_view(request, extra_context)

    def refresh_view(self, request: HttpRequest):
        """The changelist button: refresh works even when no rate exists yet."""
        if request.method == "POST":
            if not self.has_change_permission(request):
                raise PermissionDenied  # a 403, not a silent redirect
            self._refresh(request)
        return HttpResponseRedirect(reverse("admin:payments_fxrate_changelist"))


class FxOverrideInline(admin.TabularInline):
    """A partner's FX overrides on its admin page (D31). They are set in the FX
    rate admin above, which saves through ``fx_rate_set_manual``."""

    model = FxRate
    fk_name = "partner"
    extra = 0
    can_delete = False
    show_change_link = True
    fields = readonly_fields = ["currency", "rate", "source", "pinned", "fetched_at"]
    verbose_name_plural = "FX overrides (add one under Payments → FX rates)"

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def get_queryset(self, request):
        # Each row's title names the partner: one query a row without this.
        return super().get_queryset(request).select_related("partner")


# Attached from here so the app arrow stays payments → merchants.
PartnerAdmin.inlines = [*PartnerAdmin.inlines, FxOverrideInline]
