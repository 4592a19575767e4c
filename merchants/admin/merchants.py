"""Merchants in the admin: the API's own checks on every changed field (D12,
D28, D29, D34); never created or deleted here."""

from __future__ import annotations

from django.contrib import admin

from jopay_project.admin_lookups import (
    DatePartLookupsCheckedMixin,
    SecretLookupsRefusedMixin,
)
from jopay_project.admin_sorting import IndexedSortMixin
from jopay_project.errors import ErrorCode, JoPayError
from jopay_project.executors import auto_forward_enabled
from payments.services.tags import merchant_creates_drain

from ..addresses import receiving_address_validate
from ..models import Merchant
from ..services import currency_enabled_check, email_address_changed
from ..validation import shown_text_problem, validate_country, validate_email
from .audit import AuditedChangesMixin
from .partners import form_error_from
from .stale_edits import StaleEditGuardForm

_PROFILE_TEXT_FIELDS = (
    "display_name",
    "business_name",
    "phone",
    "website",
    "instagram",
    "industry",
)


class MerchantAdminForm(StaleEditGuardForm):
    """The checks ``merchant_create`` / ``merchant_update`` apply (D12, D28, D29, D34).

    Like a PATCH, which checks only the fields it carries, a field is checked
    when staff changed it: a row stored before a rule existed never blocks an
    urgent edit of another field (disabling the merchant, say).

    No Meta: ModelAdmin builds the form for Merchant from its own fields.
    """

    @property
    def instance_withdraw(self) -> str:
        """The withdraw address the page was drawn with."""
        return self.initial.get("withdraw_address") or ""

    def _check(self, name: str, validate) -> str:
        value = self.cleaned_data.get(name, "")
        if value and name in self.changed_data:
            try:
                validate(value)
            except JoPayError as exc:
                raise form_error_from(exc) from None
        return value

    def clean_email(self) -> str:
        return self._check("email", validate_email)  # D34: invalid_email

    def clean_country(self) -> str:
        # The API takes ISO 3166-1 alpha-2 in upper case only; "de" typed
        # here is stored as "DE", which the API then reads back unchanged.
        self.cleaned_data["country"] = self.cleaned_data.get("country", "").upper()
        return self._check("country", validate_country)  # D34: invalid_country

    def clean_display_currency(self) -> str:
        # D12: the field's choices are the 28 (invalid_currency); a currency
        # the partner has not enabled made every request of this merchant
        # answer unsupported_currency. The service's own check.
        return self._check(
            "display_currency",
            lambda value: currency_enabled_check(self.instance.partner, value),
        )

    def _address(self, name: str, code: ErrorCode) -> str:
        value = self.cleaned_data.get(name, "")
        # Only when staff changed it, as every other field: an address stored
        # before a rule (the zero address, a bad EIP-55 checksum) must not
        # block disabling the merchant (D28) or any other edit.
        if value and name in self.changed_data:
            try:  # D28: as the services check: not zero, not a USDC contract
                receiving_address_validate(address=value, code=code)
            except JoPayError as exc:
                raise form_error_from(exc) from None
        return value

    def clean_wallet_address(self):
        return self._address("wallet_address", ErrorCode.INVALID_WALLET_ADDRESS)

    def clean_withdraw_address(self):
        return self._address("withdraw_address", ErrorCode.INVALID_WITHDRAW_ADDRESS)

    def clean(self):
        data = super().clean()
        for name in _PROFILE_TEXT_FIELDS:
            value = data.get(name)
            problem = (
                shown_text_problem(value)
                if value and name in self.changed_data
                else None
            )
            if problem:
                # As the API: NUL cannot be stored, and a bell or a newline in
                # a name lands on every pay page and receipt, where a bidi
                # override reorders what the customer reads (D22).
                self.add_error(
                    name,
                    form_error_from(
                        JoPayError(
                            ErrorCode.INVALID_REQUEST,
                            f"The text must not contain {problem}.",
                            field=name,
                        )
                    ),
                )
        if "withdraw_address" in self.errors or "auto_forward" not in data:
            return data
        withdraw = data.get("withdraw_address", "")
        if data["auto_forward"] and "auto_forward" in self.changed_data:
            # As a PATCH with ``auto_forward: true`` (merchant_update).
            if not auto_forward_enabled():
                self.add_error(
                    "auto_forward",
                    form_error_from(
                        JoPayError(ErrorCode.AUTO_FORWARD_REQUIRES_EMBEDDED_WALLET)
                    ),
                )
            elif not withdraw:
                self.add_error(
                    "withdraw_address",
                    form_error_from(JoPayError(ErrorCode.INVALID_WITHDRAW_ADDRESS)),
                )
        elif not withdraw or withdraw.lower() != self.instance_withdraw.lower():
            # spec §11.1: a grant pins the destination, so a new (or no)
            # withdraw address switches auto-forward off, as merchant_update
            # does; another spelling (EIP-55, lower case) is the same address.
            data["auto_forward"] = False
        return data


@admin.register(Merchant)
class MerchantAdmin(
    IndexedSortMixin,
    AuditedChangesMixin,
    SecretLookupsRefusedMixin,
    DatePartLookupsCheckedMixin,
    admin.ModelAdmin,
):
    audit_action = "merchant.updated"
    audit_values = ("wallet_address", "withdraw_address")  # where money goes
    secret_fields = ("onboarding_token_hash",)  # no lookup oracle (D8, D25)
    form = MerchantAdminForm
    list_display = [
        "__str__",
        "partner",
        "test_mode",
        "onboarding_status",
        "disabled",
        "wallet_address",
        "created_at",
    ]
    sortable_by = ("wallet_address", "created_at")  # indexed (admin_sorting)
    list_filter = ["test_mode", "onboarding_status", "disabled", "partner"]
    search_fields = ["id", "business_name", "display_name", "email", "wallet_address"]
    readonly_fields = [
        "id",
        "partner",
        "test_mode",
        "created_at",
        "updated_at",
        "onboarding_token_hash",
        "onboarding_token_expires_at",
        "idempotency_key",
        "idempotency_hash",
        "terms_accepted_at",
        "terms_version",
        "onboarding_email_due",
        "onboarding_email_sent_at",
        "onboarding_email_tries",
        # Follows the wallet (save_model): set by hand, it made a "complete"
        # merchant with no wallet that nothing could make ready again.
        "onboarding_status",
    ]

    def save_model(self, request, obj: Merchant, form, change: bool) -> None:
        if "wallet_address" in form.changed_data:
            # D28: a wallet makes the merchant complete (an external wallet, as
            # at create); none makes it incomplete, with a fresh link on the
            # next read. Either way the old link dies: it must not set a
            # wallet over the one staff just entered, nor come back to life.
            obj.onboarding_status = (
                Merchant.OnboardingStatus.COMPLETE
                if obj.wallet_address
                else Merchant.OnboardingStatus.INCOMPLETE
            )
            obj.onboarding_token_hash = ""
            obj.onboarding_token_expires_at = None
        if not change:
            super().save_model(request, obj, form, change)
            return
        if "wallet_address" in form.changed_data or (
            "disabled" in form.changed_data and obj.disabled
        ):
            # D28: no create may commit at the old wallet, or for a disabled
            # merchant, once this save returns (tags.merchant_creates_drain).
            merchant_creates_drain(obj.pk)
        # Only what staff changed (and what follows from it): a full-row save
        # wrote back every column as read when the POST began, undoing a
        # wallet set on the onboarding page, an e-mail stamped as sent or a
        # PATCH committed meanwhile (the lost wallet revived the link, D28).
        fields = {f.name for f in obj._meta.concrete_fields} & set(form.changed_data)
        if "wallet_address" in fields:
            fields |= {
                "onboarding_status",
                "onboarding_token_hash",
                "onboarding_token_expires_at",
            }
        if "withdraw_address" in fields:
            fields.add("auto_forward")  # the form's clean may switch it off
        if "email" in fields and email_address_changed(obj):
            fields.add("onboarding_email_tries")
        if fields:
            obj.save(update_fields=[*sorted(fields), "updated_at"])
        self.audit_change(obj, form, change)

    def has_delete_permission(self, request, obj=None) -> bool:
        # Requests and plans PROTECT it; a merchant that must stop is
        # disabled (D28: requests then answer merchant_not_ready).
        return False

    def has_add_permission(self, request) -> bool:
        # Merchants are created over the API (D28: onboarding link, currency
        # and wallet checks, idempotency). The add form could not even save:
        # partner and mode are read-only here, so it was a 500.
        return False
