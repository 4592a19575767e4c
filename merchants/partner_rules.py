"""The bounds of a partner's money and expiry settings, in one place (D11–D13).

``Partner.clean`` (so the admin form, ``create_partner`` and every
``full_clean``) and the portal's settings service both call
``partner_settings_errors``: staff can no longer store a value the portal
refuses, such as an expiry default no create body may ask for (D11).
Each error carries the registry code the portal shows next to the field.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError

from jopay_project.errors import ErrorCode
from payments.money import MAX_FIAT_INT, SUPPORTED_CURRENCIES

# The settings ``partner_settings_errors`` judges together (the portal's
# settings page edits exactly these).
SETTINGS_FIELDS = (
    "enabled_currencies",
    "default_currency",
    "min_fiat_per_request",
    "max_fiat_per_request",
    "pos_expiry_seconds",
    "invoice_expiry_seconds",
)

# D11: the two default expiries stay within the bounds a create body may ask for.
POS_EXPIRY_BOUNDS = (60, 86_400)
INVOICE_EXPIRY_BOUNDS = (3_600, 7_776_000)


def _in_range(value: object, low: int, high: int) -> bool:
    return (
        isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
    )


def partner_settings_errors(
    *,
    enabled_currencies: object,
    default_currency: object,
    min_fiat_per_request: object,
    max_fiat_per_request: object,
    pos_expiry_seconds: object,
    invoice_expiry_seconds: object,
) -> dict[str, ValidationError]:
    """Per-field errors of these settings; empty when all hold.

    Currencies: one or more of the 28, the default among them (D12). Amounts
    (minor units of the default currency, D35): a minimum of 1 … 2 147 483 647
    (D13 amounts start at 1, so no D-number needs a minimum of 0), an optional
    maximum in the same range and not below the minimum. Expiry defaults
    within D11's bounds for a create body.
    """
    errors: dict[str, ValidationError] = {}
    currencies_ok = isinstance(enabled_currencies, list) and bool(enabled_currencies)
    if not currencies_ok or any(
        c not in SUPPORTED_CURRENCIES for c in enabled_currencies
    ):
        errors["enabled_currencies"] = ValidationError(
            "Pick one or more of the 28 supported currencies.",
            code=ErrorCode.INVALID_CURRENCY.value,
        )
    if default_currency not in SUPPORTED_CURRENCIES:
        errors["default_currency"] = ValidationError(
            "Pick a supported currency.", code=ErrorCode.INVALID_CURRENCY.value
        )
    elif not isinstance(enabled_currencies, list) or (
        default_currency not in enabled_currencies
    ):
        errors["default_currency"] = ValidationError(
            "The default currency must be one of the enabled currencies.",
            code=ErrorCode.UNSUPPORTED_CURRENCY.value,
        )
    if not _in_range(min_fiat_per_request, 1, MAX_FIAT_INT):
        errors["min_fiat_per_request"] = ValidationError(
            "The minimum must be a positive amount.",
            code=ErrorCode.INVALID_AMOUNT.value,
        )
    if max_fiat_per_request is not None:
        if not _in_range(max_fiat_per_request, 1, MAX_FIAT_INT):
            errors["max_fiat_per_request"] = ValidationError(
                "The maximum is out of range.", code=ErrorCode.INVALID_AMOUNT.value
            )
        elif (
            "min_fiat_per_request" not in errors
            and max_fiat_per_request < min_fiat_per_request
        ):
            errors["max_fiat_per_request"] = ValidationError(
                "The maximum is below the minimum.",
                code=ErrorCode.AMOUNT_BELOW_MINIMUM.value,
            )
    for name, value, (low, high) in (
        ("pos_expiry_seconds", pos_expiry_seconds, POS_EXPIRY_BOUNDS),
        ("invoice_expiry_seconds", invoice_expiry_seconds, INVOICE_EXPIRY_BOUNDS),
    ):
        if not _in_range(value, low, high):
            errors[name] = ValidationError(
                f"Use {low:,} to {high:,} seconds.", code=ErrorCode.INVALID_EXPIRY.value
            )
    return errors
