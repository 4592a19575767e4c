"""Merchant API input parsing and output shape (D4, D34). No business logic.

The DRF ``Serializer`` classes at the end only describe the API in OpenAPI.

Inputs are plain JSON objects checked field by field, so every failure maps to
the field's own code (``invalid_email``, ``invalid_country`` …) or to
``invalid_request`` with ``field`` (D4). Unknown fields are ignored. For the
optional text fields ``null`` and ``""`` both mean "not set" (on PATCH: clear it).
"""

from __future__ import annotations

from typing import Any

from django.core.validators import RegexValidator
from rest_framework import serializers

from jopay_project.errors import ErrorCode, JoPayError
from jopay_project.formats import iso
from jopay_project.schema import page_schema
from merchants.api.bodies import create_body, json_object_body
from merchants.models import Merchant
from merchants.onboarding_links import OnboardingLink
from merchants.validation import (
    has_unstorable_chars,
    shown_text_problem,
    validate_country,
    validate_email,
    validate_evm_address,
    validate_idempotency_key,
)
from payments.money import SUPPORTED_CURRENCIES, is_supported

# spec §5.1 length limits of the free-form fields.
TEXT_LIMITS: dict[str, int] = {
    "display_name": 120,
    "business_name": 120,
    "phone": 32,
    "website": 200,
    "instagram": 200,
    "industry": 80,
}
_BOOLEAN_FIELDS = ("auto_forward", "disabled")
# Re-exported: every JSON endpoint reads its body with these.
__all__ = ["create_body", "json_object_body"]


def _unset(value: Any) -> bool:
    return value is None or value == ""


def _text(name: str, value: Any) -> str:
    if _unset(value):
        return ""
    if not isinstance(value, str):
        raise JoPayError(ErrorCode.INVALID_REQUEST, field=name)
    # Every profile text: control characters would fail later as a 500 (NUL)
    # or reach partner systems; the names are shown to customers on the pay
    # page and receipt (D22), so bidi overrides go too.
    problem = shown_text_problem(value)
    if problem:
        raise JoPayError(
            ErrorCode.INVALID_REQUEST, f"{name} must not contain {problem}.", field=name
        )
    value = value.strip()
    if len(value) > TEXT_LIMITS[name]:
        raise JoPayError(ErrorCode.INVALID_REQUEST, field=name)
    return value


def _email(value: Any) -> str:
    if _unset(value):
        return ""
    # NUL cannot be stored, a lone surrogate not encoded: either was a 500.
    if isinstance(value, str) and has_unstorable_chars(value):
        raise JoPayError(ErrorCode.INVALID_EMAIL)
    return validate_email(value)


def _country(value: Any) -> str:
    return "" if _unset(value) else validate_country(value)


def _display_currency(value: Any) -> str:
    """D12: not one of the 28 → invalid_currency. Whether the partner enabled it
    (``unsupported_currency``) is the service's check: a create replay (D17)
    answers before it, like the original did."""
    if _unset(value):
        return ""
    if not is_supported(value):
        raise JoPayError(ErrorCode.INVALID_CURRENCY)
    return value


def _account_type(value: Any) -> str:
    if not isinstance(value, str) or value not in Merchant.AccountType.values:
        raise JoPayError(ErrorCode.INVALID_ACCOUNT_TYPE)
    return value


def _address(value: Any, code: ErrorCode) -> str:
    return "" if _unset(value) else validate_evm_address(value, code)


def _profile(data: dict[str, Any]) -> dict[str, Any]:
    """The profile fields present in ``data``, validated, in a fixed order."""
    out: dict[str, Any] = {}
    if "email" in data:
        out["email"] = _email(data["email"])
    for name in TEXT_LIMITS:
        if name in data:
            out[name] = _text(name, data[name])
    if "country" in data:
        out["country"] = _country(data["country"])
    if "display_currency" in data:
        out["display_currency"] = _display_currency(data["display_currency"])
    return out


def parse_create(
    data: dict[str, Any],
) -> tuple[dict[str, Any], str | None]:
    """``POST /merchants`` body → (fields for ``merchant_create``, idempotency key)."""
    key = validate_idempotency_key(data.get("idempotency_key"))
    fields = _profile(data)
    if data.get("account_type") is not None:
        fields["account_type"] = _account_type(data["account_type"])
    if "wallet_address" in data:
        fields["wallet_address"] = _address(
            data["wallet_address"], ErrorCode.INVALID_WALLET_ADDRESS
        )
    return fields, key


def parse_update(data: dict[str, Any]) -> dict[str, Any]:
    """``PATCH /merchants/:id`` body → changes for ``merchant_update``.

    ``wallet_address`` is not updatable over the API (the merchant sets it on the
    onboarding page) and is ignored like any unknown field.
    """
    changes = _profile(data)
    if "account_type" in data:
        changes["account_type"] = _account_type(data["account_type"])
    if "withdraw_address" in data:
        changes["withdraw_address"] = _address(
            data["withdraw_address"], ErrorCode.INVALID_WITHDRAW_ADDRESS
        )
    for name in _BOOLEAN_FIELDS:
        if name in data:
            if not isinstance(data[name], bool):
                raise JoPayError(ErrorCode.INVALID_REQUEST, field=name)
            changes[name] = data[name]
    return changes


def _or_null(value: str) -> str | None:
    return value or None


def merchant_output(merchant: Merchant, link: OnboardingLink | None) -> dict[str, Any]:
    """The one merchant shape (D34) of create, replay, GET, list items and PATCH."""
    return {
        "merchant_id": str(merchant.pk),
        "display_name": _or_null(merchant.display_name),
        "business_name": _or_null(merchant.business_name),
        "email": _or_null(merchant.email),
        "country": _or_null(merchant.country),
        "phone": _or_null(merchant.phone),
        "website": _or_null(merchant.website),
        "instagram": _or_null(merchant.instagram),
        "industry": _or_null(merchant.industry),
        "display_currency": _or_null(merchant.display_currency),
        "account_type": merchant.account_type,
        "onboarding_status": merchant.onboarding_status,
        "onboarding_url": link.url if link else None,
        "onboarding_url_expires_at": iso(link.expires_at) if link else None,
        "wallet_address": _or_null(merchant.wallet_address),
        "withdraw_address": _or_null(merchant.withdraw_address),
        "auto_forward": merchant.auto_forward,
        "test_mode": merchant.test_mode,
        "disabled": merchant.disabled,
        "created_at": iso(merchant.created_at),
    }


# --- OpenAPI description only (parsing above is what runs) -------------------------


def _text_field(limit: int) -> serializers.CharField:
    # null and "" both mean "not set" (on PATCH: clear it), as the parsers read them.
    return serializers.CharField(
        required=False, allow_null=True, allow_blank=True, max_length=limit
    )


class MerchantProfileInput(serializers.Serializer):
    email = serializers.EmailField(
        required=False, allow_null=True, allow_blank=True, max_length=254
    )
    display_name = _text_field(120)
    business_name = _text_field(120)
    country = serializers.CharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        max_length=2,
        validators=[RegexValidator(r"^[A-Z]{2}$")],
        help_text="ISO 3166-1 alpha-2, upper case.",
    )
    phone = _text_field(32)
    website = _text_field(200)
    instagram = _text_field(200)
    industry = _text_field(80)
    display_currency = serializers.ChoiceField(
        SUPPORTED_CURRENCIES,
        required=False,
        allow_null=True,
        allow_blank=True,
        help_text="One of the 28, enabled for the partner.",
    )
    account_type = serializers.ChoiceField(Merchant.AccountType.values, required=False)


class MerchantCreateInput(MerchantProfileInput):
    # On create, null takes the default (business); on PATCH it is refused.
    account_type = serializers.ChoiceField(
        Merchant.AccountType.values, required=False, allow_null=True
    )
    wallet_address = serializers.CharField(
        required=False,
        allow_null=True,
        allow_blank=True,
        help_text="0x + 40 hex (EIP-55 when mixed case); makes the merchant complete.",
    )
    idempotency_key = serializers.CharField(
        required=False,
        allow_null=True,
        min_length=32,
        max_length=64,
        help_text="32-64 characters of base64url or hex.",  # D17
    )


class MerchantUpdateInput(MerchantProfileInput):
    withdraw_address = serializers.CharField(
        required=False, allow_null=True, allow_blank=True
    )
    auto_forward = serializers.BooleanField(required=False)
    disabled = serializers.BooleanField(required=False)


class MerchantItemOutput(serializers.Serializer):
    """One merchant as list items show it (no `ok`: the list envelope has it)."""

    merchant_id = serializers.UUIDField()
    display_name = serializers.CharField(allow_null=True)
    business_name = serializers.CharField(allow_null=True)
    email = serializers.CharField(allow_null=True)
    country = serializers.CharField(allow_null=True)
    phone = serializers.CharField(allow_null=True)
    website = serializers.CharField(allow_null=True)
    instagram = serializers.CharField(allow_null=True)
    industry = serializers.CharField(allow_null=True)
    display_currency = serializers.CharField(allow_null=True)
    account_type = serializers.ChoiceField(Merchant.AccountType.values)
    onboarding_status = serializers.ChoiceField(Merchant.OnboardingStatus.values)
    onboarding_url = serializers.URLField(
        allow_null=True, help_text="Set while incomplete; single use, 7 days."
    )
    onboarding_url_expires_at = serializers.DateTimeField(allow_null=True)
    wallet_address = serializers.CharField(allow_null=True)
    withdraw_address = serializers.CharField(allow_null=True)
    auto_forward = serializers.BooleanField()
    test_mode = serializers.BooleanField()
    disabled = serializers.BooleanField()
    created_at = serializers.DateTimeField()


class MerchantOutput(MerchantItemOutput):
    """One merchant as a single answer shows it (create, GET, PATCH), with `ok`."""

    ok = serializers.BooleanField()


MerchantListOutput = page_schema("MerchantListOutput", MerchantItemOutput)
