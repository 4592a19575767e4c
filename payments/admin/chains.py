"""The chain registry in the admin: saved through ``chain_configure`` (D19, D31)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.http import HttpRequest
from django.utils.html import format_html

from jopay_project.admin_lookups import (
    DatePartLookupsCheckedMixin,
    SecretLookupsRefusedMixin,
)
from merchants.admin.stale_edits import StaleEditGuardForm
from merchants.audit import audit_record
from payments.chain.registry import (
    ChainConfigError,
    chain_config_check,
    chain_configure,
    chain_cursor_probe,
    chain_enabled_set,
    chain_rpc_url_problems,
    validate_rpc_url,
    validate_usdc_address,
)
from payments.models import Chain
from payments.models.chains import validate_public_rpc_url

# Columns the form writes through its own fields (kind, rpc_urls_text).
_SAVED_TOO = ("rpc_urls", "is_testnet", "is_local")


class ChainForm(StaleEditGuardForm):
    KIND_CHOICES = [("mainnet", "mainnet"), ("testnet", "testnet"), ("local", "local")]

    kind = forms.ChoiceField(choices=KIND_CHOICES)
    rpc_urls_text = forms.CharField(
        label="RPC URLs",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One per line, tried in order.",
    )
    # Published to customers' wallets, unlike the RPC URLs above (EIP-3085).
    public_rpc_url = forms.URLField(
        label="Public RPC URL",
        required=False,
        assume_scheme="https",
        max_length=Chain._meta.get_field("public_rpc_url").max_length,
        help_text=Chain._meta.get_field("public_rpc_url").help_text,
    )

    # loaded_as (StaleEditGuardForm): saved on old values, a page opened
    # before an operator's configure_chain (new RPC URLs: a leaked provider
    # key, say) or another member of staff's edit put the old chain back.

    class Meta:
        model = Chain
        fields = [
            "chain_id",
            "name",
            "usdc_address",
            "decimals",
            "confirmations",
            "public_rpc_url",
        ]

    def fingerprinted(self) -> list[str]:
        return [*self.fields, *_SAVED_TOO]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        chain = self.instance
        if not chain.pk and "confirmations" in self.fields:
            # D36: a new chain's default depends on its kind (testnet 2, local
            # 1, a shipped chain its own figure), which chain_configure picks
            # for a blank. The model's 12, pre-filled, went in as drawn.
            field = self.fields["confirmations"]
            field.required, field.initial = False, None
            field.help_text = (
                "Blank: the default for its kind (D36): testnet 2, local 1, "
                "a shipped chain its own, another mainnet 12."
            )
        # A view-only member of staff gets a form without fields (all
        # read-only): indexing them was a KeyError, the page a 500.
        if chain.pk and "chain_id" in self.fields:
            self.fields["chain_id"].disabled = True
            self.fields["rpc_urls_text"].initial = "\n".join(chain.rpc_urls or [])
            self.fields["kind"].initial = (
                "local"
                if chain.is_local
                else "testnet"
                if chain.is_testnet
                else "mainnet"
            )

    def clean_public_rpc_url(self) -> str:
        url = (self.cleaned_data.get("public_rpc_url") or "").strip()
        if url:
            validate_public_rpc_url(url)  # the model's rule: https, no credentials
        return url

    def clean(self):
        cleaned = super().clean()  # refuses a page drawn from an older row
        urls = [
            u.strip()
            for u in (cleaned.get("rpc_urls_text") or "").splitlines()
            if u.strip()
        ]
        # Shape checks for a friendly form error; chain_configure re-checks.
        for url in urls:
            try:
                validate_rpc_url(url)
            except ChainConfigError:
                self.add_error("rpc_urls_text", f"Not an http(s) URL: {url}")
        if not urls:
            self.add_error("rpc_urls_text", "Give at least one RPC URL.")
        address = cleaned.get("usdc_address") or ""
        if address:
            try:  # D19: the checksum and zero-address rules of configure_chain
                validate_usdc_address(address)
            except ChainConfigError as exc:
                self.add_error("usdc_address", str(exc))
        cleaned["rpc_urls"] = urls
        if not self.errors:
            # Every other rule of configure_chain (ranges, lengths, decimals):
            # refused here, the form shows why. Refused in save_model, the
            # admin said "changed successfully" and logged a change.
            chain_id = cleaned.get("chain_id") or self.instance.chain_id
            try:
                chain_config_check(
                    chain_id=chain_id,
                    name=cleaned.get("name") or "",
                    rpc_urls=urls,
                    usdc_address=address,
                    decimals=cleaned.get("decimals"),
                    confirmations=cleaned.get("confirmations"),
                    is_testnet=cleaned.get("kind") == "testnet",
                    is_local=cleaned.get("kind") == "local",
                    public_rpc_url=cleaned.get("public_rpc_url") or "",
                )
            except ChainConfigError as exc:
                self.add_error(None, str(exc))
        return cleaned


@admin.register(Chain)
class ChainAdmin(
    SecretLookupsRefusedMixin, DatePartLookupsCheckedMixin, admin.ModelAdmin
):
    form = ChainForm
    # RPC URLs may embed a provider's key (…/v3/<key>), never shown to staff
    # who may only view chains: ?rpc_urls__icontains=… and its result count
    # read it one character at a time (D19, as secrets are kept for D25).
    secret_fields = ("rpc_urls",)
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
    readonly_fields = [
        "enabled",
        "last_scanned_block",
        "last_scanned_at",
        "watch_from",
        "updated_at",
    ]
    actions = ["enable", "disable"]

    def has_delete_permission(self, request, obj=None) -> bool:
        # "Disable" instead: a deleted chain took its pending rescans with it
        # (RequestRescan cascades) and left its requests' chain_id naming
        # nothing, so their proofs could no longer be re-verified or found.
        return False

    @admin.display(description="Kind")
    def kind(self, obj: Chain) -> str:
        return "local" if obj.is_local else "testnet" if obj.is_testnet else "mainnet"

    @admin.display(description="RPC URLs")
    def rpc_count(self, obj: Chain) -> str:
        n = len(obj.rpc_urls or [])
        return format_html("{}", n) if n else "none (unusable)"

    def save_model(self, request, obj: Chain, form, change: bool) -> None:
        # The form's clean ran every check, so this does not refuse.
        data = form.cleaned_data
        result = chain_configure(
            chain_id=obj.chain_id,
            name=data["name"],
            rpc_urls=data["rpc_urls"],
            usdc_address=data["usdc_address"],
            decimals=data.get("decimals"),
            confirmations=data.get("confirmations"),
            is_testnet=data["kind"] == "testnet",
            is_local=data["kind"] == "local",
            # Blank in the form clears it: the admin shows the row's value.
            public_rpc_url=data.get("public_rpc_url") or "",
            probe=False,
            # An edit keeps the switch: a chain disabled by the (audited)
            # action was silently enabled again by any later edit.
            enable=not change,
        )
        obj.refresh_from_db()
        self._audit(obj, form)
        # The admin saves inside a transaction: the RPC probe waits for its
        # commit, so the chain row is not locked while operator-given URLs
        # answer (the watcher would wait on it).
        transaction.on_commit(
            lambda: self._probe(request, result.chain, result.watch_from_set)
        )

    @staticmethod
    def _audit(chain: Chain, form) -> None:
        """Who changed what a chain verifies against: the token and the depth
        decide which transfers count as payments (the LogEntry names fields
        only). RPC URLs may carry a provider's key: named, never recorded."""
        changed = sorted(set(form.changed_data) - {"loaded_as"})
        if not changed:
            return
        details = {"changed": changed}
        for name in ("usdc_address", "confirmations"):
            if name in form.changed_data:
                was = form.initial.get(name)
                details[name] = {"from": was, "into": getattr(chain, name)}
        audit_record(
            partner=None,
            action="chain.configured",
            target=chain.chain_id,
            details=details,
        )

    def _probe(
        self, request: HttpRequest, chain: Chain, watch_from_set: bool = False
    ) -> None:
        _, problem = chain_cursor_probe(chain, watch_from_set=watch_from_set)
        if problem:
            self.message_user(
                request, f"Saved, but no RPC answered ({problem}).", messages.WARNING
            )
            return
        # D19: the URLs are tried in turn; a dead fallback gives no fallback.
        for unusable in chain_rpc_url_problems(chain):
            self.message_user(
                request,
                f"Saved, but {unusable}; the chain is read through the others.",
                messages.WARNING,
            )

    def _switch(self, request: HttpRequest, queryset, *, enabled: bool) -> None:
        # Through the service, one chain at a time, each change logged with
        # the staff user: a raw queryset.update() left no record of who
        # switched a chain off (no proofs on it, D19), or on again.
        verb = "Enabled" if enabled else "Disabled"
        changed = 0
        for chain in queryset:
            if chain_enabled_set(chain_id=chain.chain_id, enabled=enabled):
                changed += 1
                self.log_change(request, chain, f"{verb} the chain")
        self.message_user(request, f"{verb} {changed} chain(s).")

    @admin.action(permissions=["change"], description="Enable the selected chains")
    def enable(self, request: HttpRequest, queryset) -> None:
        self._switch(request, queryset, enabled=True)

    @admin.action(
        permissions=["change"],
        description="Disable the selected chains (no new proofs on them)",
    )
    def disable(self, request: HttpRequest, queryset) -> None:
        self._switch(request, queryset, enabled=False)
