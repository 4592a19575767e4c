"""Payment requests in the admin: every field read-only; re-verify and cancel
are actions that call ``proof_reverify`` and ``payment_request_cancel``."""

from __future__ import annotations

from django.contrib import admin, messages
from django.http import HttpRequest

from jopay_project.errors import JoPayError
from payments.models import PaymentRequest
from payments.money import format_minor, format_usdc
from payments.proofs.services import proof_reverify
from payments.services import payment_request_cancel

PR = PaymentRequest


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
