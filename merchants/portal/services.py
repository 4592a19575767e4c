"""Partner settings writes made from the portal (spec §12.2, D11, D12, D13, D35).

Only the portal edits these fields (staff use the admin), so the service lives
next to it. It is keyword-only, locks the partner row, validates everything
before saving, and raises ``django.core.exceptions.ValidationError`` keyed by
field, each error carrying a registry code, so nothing half-written remains.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from jopay_project.errors import ErrorCode
from merchants.models import Partner
from payments.money import MAX_FIAT_INT, SUPPORTED_CURRENCIES

# D11: the two default expiries stay within the bounds a create body may ask for.
POS_EXPIRY_BOUNDS = (60, 86_400)
INVOICE_EXPIRY_BOUNDS = (3_600, 7_776_000)


def _check(
    *,
    enabled_currencies: list[str],
    default_currency: str,
    min_fiat_per_request: int,
    max_fiat_per_request: int | None,
    pos_expiry_seconds: int,
    invoice_expiry_seconds: int,
) -> dict[str, ValidationError]:
    errors: dict[str, ValidationError] = {}
    if not enabled_currencies or any(
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
    elif default_currency not in enabled_currencies:
        errors["default_currency"] = ValidationError(
            "The default currency must be one of the enabled currencies.",
            code=ErrorCode.UNSUPPORTED_CURRENCY.value,
        )
    if not 1 <= min_fiat_per_request <= MAX_FIAT_INT:
        errors["min_fiat_per_request"] = ValidationError(
            "The minimum must be a positive amount.",
            code=ErrorCode.INVALID_AMOUNT.value,
        )
    if max_fiat_per_request is not None:
        if not 1 <= max_fiat_per_request <= MAX_FIAT_INT:
            errors["max_fiat_per_request"] = ValidationError(
                "The maximum is out of range.", code=ErrorCode.INVALID_AMOUNT.value
            )
        elif max_fiat_per_request < min_fiat_per_request:
            errors["max_fiat_per_request"] = ValidationError(
                "The maximum is below the minimum.",
                code=ErrorCode.AMOUNT_BELOW_MINIMUM.value,
            )
    for name, value, (low, high) in (
        ("pos_expiry_seconds", pos_expiry_seconds, POS_EXPIRY_BOUNDS),
        ("invoice_expiry_seconds", invoice_expiry_seconds, INVOICE_EXPIRY_BOUNDS),
    ):
        if not low <= value <= high:
            errors[name] = ValidationError(
                f"Use {low:,} to {high:,} seconds.", code=ErrorCode.INVALID_EXPIRY.value
            )
    return errors


@transaction.atomic
def partner_settings_update(
    *,
    partner: Partner,
    enabled_currencies: list[str],
    default_currency: str,
    min_fiat_per_request: int,
    max_fiat_per_request: int | None,
    pos_expiry_seconds: int,
    invoice_expiry_seconds: int,
) -> Partner:
    """Save the partner's money and expiry settings; return the saved row.

    Guarantees: amounts are integers in minor units of the *new* default
    currency (D35); the default currency is enabled (D12); ``max`` ≥ ``min``;
    expiries within D11's bounds. Raises ``ValidationError`` (per field, with a
    registry code) and writes nothing when any check fails.
    """
    currencies = [c for c in SUPPORTED_CURRENCIES if c in set(enabled_currencies)]
    errors = _check(
        enabled_currencies=currencies,
        default_currency=default_currency,
        min_fiat_per_request=min_fiat_per_request,
        max_fiat_per_request=max_fiat_per_request,
        pos_expiry_seconds=pos_expiry_seconds,
        invoice_expiry_seconds=invoice_expiry_seconds,
    )
    if errors:
        raise ValidationError(errors)
    locked = Partner.objects.select_for_update().get(pk=partner.pk)
    locked.enabled_currencies = currencies
    locked.default_currency = default_currency
    locked.min_fiat_per_request = min_fiat_per_request
    locked.max_fiat_per_request = max_fiat_per_request
    locked.pos_expiry_seconds = pos_expiry_seconds
    locked.invoice_expiry_seconds = invoice_expiry_seconds
    locked.full_clean()
    locked.save(
        update_fields=[
            "enabled_currencies",
            "default_currency",
            "min_fiat_per_request",
            "max_fiat_per_request",
            "pos_expiry_seconds",
            "invoice_expiry_seconds",
        ]
    )
    return locked
