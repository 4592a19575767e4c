"""Staff admin for payments: requests, FX rates and the chain registry (STYLE.md).

Admin is for support. Money is never edited in place: every field of a payment
request is read-only, and changes go through actions that call the same
services as the API and portal (``proof_reverify``, ``payment_request_cancel``),
so they keep their locks, events and error codes. FX rates are pinned through
``fx_rate_set_manual`` and refreshed through ``fx_refresh``; chains are saved
through ``chain_configure``.
"""

from __future__ import annotations

from decimal import Decimal
from urllib.parse import urlsplit

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest, HttpResponseRedirect
from django.urls import path, reverse
from django.utils.html import format_html
from eth_utils import is_hex_address

from jopay_project.errors import JoPayError
from payments.chain.registry import ChainConfigError, chain_configure
from payments.models import Chain, FxRate, PaymentRequest
from payments.money import SUPPORTED_CURRENCIES, format_minor, format_usdc
from payments.proofs.services import proof_reverify
from payments.selectors import fx_rate_is_stale
from payments.services import (
    fx_rate_clear_manual,
    fx_rate_set_manual,
    fx_refresh,
    payment_request_cancel,
)

PR = PaymentRequest


# --- payment requests ---------------------------------------------------------------


@admin.register(PaymentRequest)
class PaymentRequestAdmin(admin.ModelAdmin):
    list_display = [
        "reference",
        "partner",
        "merchant",
        "test_mode",
        "amount",
        "usdc",
        "status",
        "proof_status",
        "created_at",
    ]
    list_filter = ["status", "proof_status", "test_mode", "payment_mode", "chain_id"]
    search_fields = [
        "reference",
        "=id",
        "tx_hash",
        "receiving_address",
        "partner__slug",
    ]
    list_select_related = ["partner", "merchant"]
    date_hierarchy = "created_at"
    ordering = ["-created_at", "-id"]
    actions = ["reverify", "cancel"]
    fieldsets = [
        (None, {"fields": ["id", "reference", "partner", "merchant", "test_mode"]}),
        (
            "Money (read-only)",
            {"fields": ["fiat_int", "fiat_code", "usdc_micro", "fx_rate", "fx_source"]},
        ),
        (
            "State",
            {
                "fields": [
                    "status",
                    "proof_status",
                    "payment_mode",
                    "expires_at",
                    "opened_at",
                    "cancelled_at",
                    "expired_at",
                ]
            },
        ),
        (
            "Proof",
            {
                "fields": [
                    "chain_id",
                    "tx_hash",
                    "payer_address",
                    "proof_source",
                    "proof_attached_at",
                    "verified_at",
                    "mismatch_reason",
                    "overpaid_micro",
                    "evidence",
                    "verify_attempts",
                    "next_verify_at",
                ]
            },
        ),
        (
            "Details",
            {
                "fields": [
                    "receiving_address",
                    "memo",
                    "metadata",
                    "return_url",
                    "idempotency_key",
                    "created_at",
                    "updated_at",
                ]
            },
        ),
    ]

    def get_readonly_fields(self, request, obj=None):
        # Everything: support changes state only through the actions below.
        return [f.name for f in PR._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # requests are created by partners through the API

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # money history is never deleted

    @admin.display(description="Amount", ordering="fiat_int")
    def amount(self, obj: PaymentRequest) -> str:
        return f"{format_minor(obj.fiat_int, obj.fiat_code)} {obj.fiat_code}"

    @admin.display(description="USDC", ordering="usdc_micro")
    def usdc(self, obj: PaymentRequest) -> str:
        return format_usdc(obj.usdc_micro)

    @admin.action(description="Re-verify the attached proof now")
    def reverify(self, request: HttpRequest, queryset) -> None:
        for pr in queryset:
            if pr.proof_status not in (
                PR.ProofStatus.ATTACHED,
                PR.ProofStatus.MISMATCH,
            ):
                self.message_user(
                    request,
                    f"{pr.reference}: no proof to check ({pr.proof_status}).",
                    messages.WARNING,
                )
                continue
            try:
                fresh = proof_reverify(request=pr)
            except JoPayError as err:
                self.message_user(
                    request,
                    f"{pr.reference}: {err.code} — {err.message}",
                    messages.ERROR,
                )
            else:
                self.message_user(
                    request, f"{pr.reference}: proof is {fresh.proof_status}."
                )

    @admin.action(description="Cancel the request")
    def cancel(self, request: HttpRequest, queryset) -> None:
        for pr in queryset.select_related("partner"):
            try:
                payment_request_cancel(tenant=pr.tenant, request_id=pr.pk)
            except JoPayError as err:
                self.message_user(
                    request,
                    f"{pr.reference}: {err.code} — {err.message}",
                    messages.ERROR,
                )
            else:
                self.message_user(request, f"{pr.reference}: cancelled.")


# --- FX rates -----------------------------------------------------------------------


class FxRateForm(forms.ModelForm):
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

    def clean(self):
        cleaned = super().clean()
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
class FxRateAdmin(admin.ModelAdmin):
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

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:  # the currency and scope of a row never change
            return ["currency", "partner", *self.readonly_fields]
        return self.readonly_fields

    def save_model(self, request, obj: FxRate, form, change: bool) -> None:
        # D31: an admin-entered rate is a manual, pinned rate; the service
        # upserts the (currency, partner) row, so saving never duplicates one.
        try:
            saved = fx_rate_set_manual(
                currency=obj.currency, rate=obj.rate, partner=obj.partner
            )
        except ValueError as exc:
            self.message_user(request, f"Not saved: {exc}", messages.ERROR)
            return
        obj.pk = saved.pk
        obj.refresh_from_db()

    @admin.action(description="Refresh all rates from the feeds")
    def refresh_from_feeds(self, request: HttpRequest, queryset) -> None:
        self._refresh(request)

    @admin.action(description="Clear the manual pin")
    def clear_manual(self, request: HttpRequest, queryset) -> None:
        cleared = sum(
            fx_rate_clear_manual(currency=r.currency, partner=r.partner)
            for r in queryset.filter(pinned=True)
        )
        self.message_user(request, f"Cleared {cleared} manual rate(s).")

    def _refresh(self, request: HttpRequest) -> None:
        result = fx_refresh()
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
            "left alone.",
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

    def refresh_view(self, request: HttpRequest):
        """The changelist button: refresh works even when no rate exists yet."""
        if request.method == "POST" and self.has_change_permission(request):
            self._refresh(request)
        return HttpResponseRedirect(reverse("admin:payments_fxrate_changelist"))


# --- chains -------------------------------------------------------------------------


class ChainForm(forms.ModelForm):
    KIND_CHOICES = [("mainnet", "mainnet"), ("testnet", "testnet"), ("local", "local")]

    kind = forms.ChoiceField(choices=KIND_CHOICES)
    rpc_urls_text = forms.CharField(
        label="RPC URLs",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One per line, tried in order.",
    )

    class Meta:
        model = Chain
        fields = ["chain_id", "name", "usdc_address", "decimals", "confirmations"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        chain = self.instance
        if chain.pk:
            self.fields["chain_id"].disabled = True
            self.fields["rpc_urls_text"].initial = "\n".join(chain.rpc_urls or [])
            self.fields["kind"].initial = (
                "local"
                if chain.is_local
                else "testnet"
                if chain.is_testnet
                else "mainnet"
            )

    def clean(self):
        cleaned = super().clean()
        urls = [
            u.strip()
            for u in (cleaned.get("rpc_urls_text") or "").splitlines()
            if u.strip()
        ]
        # Shape checks for a friendly form error; chain_configure re-checks.
        for url in urls:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                self.add_error("rpc_urls_text", f"Not an http(s) URL: {url}")
        if not urls:
            self.add_error("rpc_urls_text", "Give at least one RPC URL.")
        address = cleaned.get("usdc_address") or ""
        if address and not is_hex_address(address):
            self.add_error("usdc_address", "Not a 0x + 40 hex address.")
        cleaned["rpc_urls"] = urls
        return cleaned


@admin.register(Chain)
class ChainAdmin(admin.ModelAdmin):
    form = ChainForm
    list_display = [
        "chain_id",
        "name",
        "kind",
        "usdc_address",
        "confirmations",
        "rpc_count",
        "enabled",
        "last_scanned_block",
    ]
    list_filter = ["enabled", "is_testnet", "is_local"]
    search_fields = ["name", "=chain_id"]
    readonly_fields = ["enabled", "last_scanned_block", "updated_at"]
    actions = ["enable", "disable"]

    @admin.display(description="Kind")
    def kind(self, obj: Chain) -> str:
        return "local" if obj.is_local else "testnet" if obj.is_testnet else "mainnet"

    @admin.display(description="RPC URLs")
    def rpc_count(self, obj: Chain) -> str:
        n = len(obj.rpc_urls or [])
        return format_html("{}", n) if n else "none (unusable)"

    def save_model(self, request, obj: Chain, form, change: bool) -> None:
        data = form.cleaned_data
        try:
            result = chain_configure(
                chain_id=obj.chain_id,
                name=data["name"],
                rpc_urls=data["rpc_urls"],
                usdc_address=data["usdc_address"],
                decimals=data.get("decimals"),
                confirmations=data.get("confirmations"),
                is_testnet=data["kind"] == "testnet",
                is_local=data["kind"] == "local",
            )
        except ChainConfigError as exc:
            self.message_user(request, f"Not saved: {exc}", messages.ERROR)
            return
        if result.rpc_problem:
            self.message_user(
                request,
                f"Saved, but no RPC answered ({result.rpc_problem}).",
                messages.WARNING,
            )
        obj.refresh_from_db()

    @admin.action(description="Enable the selected chains")
    def enable(self, request: HttpRequest, queryset) -> None:
        self.message_user(request, f"Enabled {queryset.update(enabled=True)} chain(s).")

    @admin.action(description="Disable the selected chains (no new proofs on them)")
    def disable(self, request: HttpRequest, queryset) -> None:
        self.message_user(
            request, f"Disabled {queryset.update(enabled=False)} chain(s)."
        )
