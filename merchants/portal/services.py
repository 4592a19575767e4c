"""Writes made from the portal: partner settings (spec §12.2, D11, D12, D13,
D35) and a portal user's own password.

Only the portal edits these fields (staff use the admin), so the service lives
next to it. It is keyword-only, locks the partner row, validates everything
before saving, and raises ``django.core.exceptions.ValidationError`` keyed by
field, each error carrying a registry code, so nothing half-written remains.
"""

from __future__ import annotations

from django.contrib.auth.models import User
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction

from jopay_project.errors import ErrorCode
from merchants.admin.stale_edits import fingerprint
from merchants.audit import audit_record
from merchants.models import Partner
from merchants.partner_rules import (  # noqa: F401  (bounds re-exported)
    INVOICE_EXPIRY_BOUNDS,
    POS_EXPIRY_BOUNDS,
    SETTINGS_FIELDS,
    partner_settings_errors,
)
from payments.money import SUPPORTED_CURRENCIES


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
    loaded_as: str = "",
) -> Partner:
    """Save the partner's money and expiry settings; return the saved row.

    ``loaded_as``: the ``settings_fingerprint`` of the row the page showed.
    When the row has changed since (another user of the partner, staff in
    the admin), nothing is saved: the page posts back every field, so saving
    would put back the old values of whatever the other one changed.

    Guarantees: amounts are integers in minor units of the *new* default
    currency (D35); the default currency is enabled (D12); ``max`` ≥ ``min``;
    expiries within D11's bounds (``merchants.partner_rules``, shared with
    ``Partner.clean`` and so the admin). Raises ``ValidationError`` (per field,
    with a registry code) and writes nothing when any check fails.
    """
    currencies = [c for c in SUPPORTED_CURRENCIES if c in set(enabled_currencies)]
    errors = partner_settings_errors(  # the bounds Partner.clean applies too
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
    before = {name: getattr(locked, name) for name in _SETTINGS}
    after = {
        "enabled_currencies": currencies,
        "default_currency": default_currency,
        "min_fiat_per_request": min_fiat_per_request,
        "max_fiat_per_request": max_fiat_per_request,
        "pos_expiry_seconds": pos_expiry_seconds,
        "invoice_expiry_seconds": invoice_expiry_seconds,
    }
    # The same values sent twice (a double post) are no conflict: nothing to undo.
    if loaded_as and loaded_as != settings_fingerprint(locked) and after != before:
        raise ValidationError(
            {
                NON_FIELD_ERRORS: ValidationError(
                    "These settings were changed (by another user of your "
                    "account, or by JoPay) after you opened this page. Nothing "
                    "was saved: reload the page to see the current values, then "
                    "make your change again.",
                    code=ErrorCode.INVALID_REQUEST.value,
                )
            }
        )
    for name, value in after.items():
        setattr(locked, name, value)
    locked.full_clean()
    locked.save(update_fields=list(_SETTINGS))
    changed = {
        name: [before[name], getattr(locked, name)]
        for name in _SETTINGS
        if getattr(locked, name) != before[name]
    }
    limits = ("min_fiat_per_request", "max_fiat_per_request")
    if "default_currency" not in changed and any(n in changed for n in limits):
        # The limits are minor units of the default currency (D35): kept
        # beside them so the trail reads "25.00 EUR", not "2500", for good.
        changed["limits_currency"] = locked.default_currency
    if changed:
        audit_record(partner=locked, action="settings.updated", details=changed)
    return locked


_SETTINGS = SETTINGS_FIELDS


def settings_fingerprint(partner: Partner) -> str:
    """A digest of the settings the portal's page shows and posts back."""
    return fingerprint(partner, _SETTINGS)


class StalePasswordError(Exception):
    """The password changed after the caller checked the current one."""


@transaction.atomic
def portal_password_change(*, user: User, partner: Partner, new_password: str) -> None:
    """Give ``user`` (a portal user of ``partner``) ``new_password``; audit it.

    The caller has checked the current password and the validators (the
    portal's password form). Every session signed in with the old password
    is signed out on its next request: Django keeps a hash of the password
    hash in each session and drops a session whose hash no longer matches;
    the caller keeps its own session with ``update_session_auth_hash``. The
    audit entry names the account, never the password.

    Raises ``StalePasswordError`` and changes nothing when the stored
    password is no longer the one the caller checked (``user.password``):
    another session changed it in between, and this one was signed out by it.
    """
    stored = User.objects.select_for_update().values_list("password", flat=True)
    if stored.get(pk=user.pk) != user.password:
        raise StalePasswordError
    user.set_password(new_password)
    user.save(update_fields=["password"])
    audit_record(
        partner=partner,
        action="portal_user.password_changed",
        target=user.get_username(),
    )
