"""Payment requests in the admin: every field read-only; re-verify and cancel
are actions that call ``proof_reverify`` and ``payment_request_cancel``, and
"Attach a proof" on the change page calls ``proof_attach`` with source
``admin`` (D21).

The change page is view-only (no Save): saving it would write back every
field as read when the POST began, undoing a verification or cancellation
committed meanwhile. Who may act is the ``support`` permission (the model's
change permission); each action and attachment leaves a LogEntry naming the
staff user.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from jopay_project import admin_search as shape
from jopay_project.admin_actions import confirm_first
from jopay_project.admin_lookups import DatePartLookupsCheckedMixin
from jopay_project.admin_sorting import IndexedSortMixin
from jopay_project.errors import JoPayError
from payments.models import Chain, PaymentRequest
from payments.money import format_usdc
from payments.portal.forms import AttachProofForm
from payments.proofs.services import proof_attach, proof_reverify
from payments.selectors import proof_chains
from payments.services import payment_request_cancel

from .reverify import reverify_selection

PR = PaymentRequest


class ChainFilter(admin.SimpleListFilter):
    """By chain, from the configured chains: Django's own filter for a plain
    column ran ``SELECT DISTINCT chain_id`` over the whole table per page."""

    title = "chain"
    parameter_name = "chain_id"

    def lookups(self, request, model_admin):
        return [(str(c.chain_id), str(c)) for c in Chain.objects.all()]

    def queryset(self, request, queryset):
        value = self.value()
        if value and value.isascii() and value.isdigit():
            return queryset.filter(chain_id=int(value))
        return queryset


@admin.register(PaymentRequest)
class PaymentRequestAdmin(
    IndexedSortMixin,
    shape.ExactSearchMixin,
    DatePartLookupsCheckedMixin,
    admin.ModelAdmin,
):
    # Growing tables: one COUNT(*) of the whole table per page, not two.
    show_full_result_count = False
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
    # The unique reference and request_recent (jopay_project.admin_sorting).
    sortable_by = ("reference", "created_at")
    list_filter = [
        "status",
        "proof_status",
        "test_mode",
        "payment_mode",
        ChainFilter,
        ("created_at", admin.DateFieldListFilter),
    ]
    # Exact identifiers only, each on an index (jopay_project.admin_search):
    # "reference" (icontains), "=id" (UPPER(id::text)) and a partner join,
    # OR-ed on every term, read the whole table (3 s at 1 M rows).
    search_fields = ["reference"]  # shows the box; exact_search decides
    exact_search = {
        shape.UUID: ["pk"],
        shape.REFERENCE: ["reference"],  # unique index
        # request_tx_hash: any request whose proof names the hash, whatever
        # its chain (also one no longer configured) or proof state.
        shape.TX_HASH: ["tx_hash"],
        shape.ADDRESS: ["receiving_address"],  # request_amount starts with it
        shape.PARTNER: ["partner"],  # request_tenant_keyset starts with it
    }
    search_help_text = (
        "Exact match only: a request id, a reference (ABC234), a tx hash "
        "(0x + 64 hex), a receiving address (0x + 40 hex) or a partner slug. "
        "Separate several with spaces to find any of them."
    )
    list_select_related = ["partner", "merchant"]
    ordering = ["-created_at", "-id"]
    actions = ["reverify", "cancel"]
    change_form_template = "admin/payments/paymentrequest/change_form.html"
    fieldsets = [
        (None, {"fields": ["id", "reference", "partner", "merchant", "test_mode"]}),
        (
            "Money (read-only)",
            {
                "fields": [
                    # Written in units first; the stored integers below them.
                    "amount",
                    "usdc",
                    "fiat_int",
                    "fiat_code",
                    "usdc_micro",
                    "fx_rate",
                    "fx_source",
                ]
            },
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
        return [*(f.name for f in PR._meta.fields), "amount", "usdc"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # requests are created by partners through the API

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        # Never saved from the change form (a stale full-row write): the page
        # is view-only, its POST is refused; state changes go through the
        # services below, which lock the row.
        return False

    def has_support_permission(self, request: HttpRequest) -> bool:
        """Actions and attach-proof: staff holding the model's change permission."""
        return request.user.has_perm("payments.change_paymentrequest")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "may_attach_proof": self.has_support_permission(request),
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # money history is never deleted

    @admin.display(description="Amount", ordering="fiat_int")
    def amount(self, obj: PaymentRequest) -> str:
        return obj.fiat_text

    @admin.display(description="USDC", ordering="usdc_micro")
    def usdc(self, obj: PaymentRequest) -> str:
        return f"{format_usdc(obj.usdc_micro)} USDC"

    def get_urls(self):
        attach = path(
            "<path:object_id>/attach-proof/",
            self.admin_site.admin_view(self.attach_proof_view),
            name="payments_paymentrequest_attach_proof",
        )
        return [attach, *super().get_urls()]

    def attach_proof_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """D21 ``admin`` proofs: a payer's hash via support, verified as usual."""
        pr = self.get_object(request, unquote(object_id))
        if pr is None:
            raise Http404
        if not self.has_support_permission(request):
            raise PermissionDenied
        # Bound on every POST: ``request.POST or None`` left an empty POST's
        # form unbound, and reading its cleaned_data was a 500.
        form = AttachProofForm(
            request.POST if request.method == "POST" else None,
            chains=proof_chains(test_mode=pr.test_mode),
        )
        if request.method == "POST":
            form.is_valid()  # never invalid: the service judges both fields
            try:
                fresh = proof_attach(
                    request=pr,
                    chain_id=form.cleaned_data.get("chain_id", ""),
                    tx_hash=form.cleaned_data.get("tx_hash", ""),
                    source=PR.ProofSource.ADMIN,
                )
            except JoPayError as err:
                self.message_user(
                    request, f"{err.code} — {err.message}", messages.ERROR
                )
            else:
                # The same proof already attached is a no-op of proof_attach (its
                # source and attach time kept, no event): not staff's proof.
                if pr.proof_status == PR.ProofStatus.ATTACHED and (
                    fresh.proof_attached_at == pr.proof_attached_at
                ):
                    self.message_user(
                        request,
                        f"{fresh.reference}: that proof is already being checked"
                        f" (source {fresh.proof_source}); nothing changed.",
                        messages.WARNING,
                    )
                else:
                    self.message_user(
                        request,
                        f"{fresh.reference}: proof attached; verification is running.",
                    )
                    self.log_change(request, fresh, f"Attached proof {fresh.tx_hash}")
                return redirect(
                    reverse("admin:payments_paymentrequest_change", args=[pr.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": pr,
            "form": form,
            "title": f"Attach a proof to {pr.reference}",
        }
        return TemplateResponse(
            request, "admin/payments/paymentrequest/attach_proof.html", context
        )

    @admin.action(
        permissions=["support"], description="Re-verify the attached proof now"
    )
    def reverify(self, request: HttpRequest, queryset) -> None:
        # proof_reverify as this module names it now (tests replace it).
        reverify_selection(self, request, queryset, check=proof_reverify)

    @admin.action(permissions=["support"], description="Cancel the request")
    @confirm_first(
        consequence="A cancelled request can no longer be paid and cannot be "
        "reopened; the partner receives request.cancelled (D18). Requests that "
        "are paid, expired or have a proof pending are left as they are."
    )
    def cancel(self, request: HttpRequest, queryset) -> None:
        for pr in queryset.select_related("partner"):
            try:
                fresh = payment_request_cancel(tenant=pr.tenant, request_id=pr.pk)
            except JoPayError as err:
                self.message_user(
                    request,
                    f"{pr.reference}: {err.code} — {err.message}",
                    messages.ERROR,
                )
            else:
                self.message_user(request, f"{pr.reference}: cancelled.")
                if pr.status != PR.Status.CANCELLED:  # not a repeat (a no-op)
                    self.log_change(request, fresh, "Cancelled the request")
