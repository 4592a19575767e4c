"""Merchant writes: create (idempotent) and update (onboarding completion:
``merchants.onboarding_complete``).

Every function here is keyword-only, runs in one transaction and leaves no
half-written row behind: a ``JoPayError`` is raised before anything is saved.
Field values arrive already validated and normalised by the API layer
(``merchants.api.serializers``) or the onboarding form; the services re-check
what guards money (wallet addresses, the auto-forward rule) themselves.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from jopay_project.errors import ErrorCode, JoPayError
from jopay_project.executors import auto_forward_enabled
from jopay_project.tasks import enqueue_on_commit
from jopay_project.tenancy import Tenant
from payments.services.tags import merchant_creates_drain

from .addresses import receiving_address_validate
from .audit import audit_record
from .models import Merchant, Partner
from .onboarding_links import (
    issue_link_fields,
)
from .validation import body_hash

# Fields the create and update bodies may set, and the value "not given" means.
PROFILE_DEFAULTS: dict[str, Any] = {
    "email": "",
    "display_name": "",
    "business_name": "",
    "country": "",
    "phone": "",
    "website": "",
    "instagram": "",
    "industry": "",
    "display_currency": "",
    "account_type": Merchant.AccountType.BUSINESS,
}
CREATE_DEFAULTS: dict[str, Any] = {**PROFILE_DEFAULTS, "wallet_address": ""}
UPDATABLE_FIELDS = frozenset(PROFILE_DEFAULTS) | {
    "withdraw_address",
    "auto_forward",
    "disabled",
}


# --- create (D17, D28) ----------------------------------------------------------------


def currency_enabled_check(partner: Partner, currency: str) -> None:
    """D12: a supported currency the partner has not enabled → unsupported_currency."""
    if currency and currency not in (partner.enabled_currencies or []):
        raise JoPayError(ErrorCode.UNSUPPORTED_CURRENCY)


@dataclass(frozen=True)
class MerchantCreateResult:
    merchant: Merchant
    replayed: bool


def _replay_or_conflict(tenant: Tenant, key: str, values: dict) -> Merchant | None:
    existing = (
        Merchant.objects.for_tenant(tenant)
        .select_related("partner")
        .filter(idempotency_key=key)
        .first()
    )
    if existing is None:
        return None
    # D17: a wallet in another case (EIP-55, lower) is the same address; hashed
    # as the original spelled it, so hashes stored earlier still match.
    if values["wallet_address"].lower() == existing.wallet_address.lower():
        values = {**values, "wallet_address": existing.wallet_address}
    if existing.idempotency_hash != body_hash(values):
        raise JoPayError(ErrorCode.IDEMPOTENCY_CONFLICT)
    return existing


def merchant_create(
    *, tenant: Tenant, fields: dict[str, Any], idempotency_key: str | None = None
) -> MerchantCreateResult:
    """Create a merchant for ``tenant`` (its partner and mode, D10).

    ``fields`` holds validated values for keys of ``CREATE_DEFAULTS`` (missing
    keys take the default); a ``display_currency`` the partner has not enabled
    raises ``unsupported_currency`` (D12). With a ``wallet_address`` the
    merchant is complete at once (external wallet, D28); without one it is
    incomplete and gets a single-use 7-day onboarding link.

    D17: with ``idempotency_key``, the same key and the same normalised fields
    return the original row (``replayed=True``) in its current state, also when
    concurrent calls race (the unique constraint decides; losers re-read);
    the same key with other fields raises ``idempotency_conflict``.
    """
    unknown = set(fields) - set(CREATE_DEFAULTS)
    if unknown:
        raise ValueError(f"unknown merchant fields: {sorted(unknown)}")
    values = {**CREATE_DEFAULTS, **fields}
    digest = body_hash(values)

    if idempotency_key is not None:
        existing = _replay_or_conflict(tenant, idempotency_key, values)
        if existing is not None:
            return MerchantCreateResult(existing, replayed=True)
    # After the replay check: a retry answers as the original did even if the
    # partner has disabled the currency since, or a chain registered since
    # has the wallet as its token contract.
    if values["wallet_address"]:  # D28: not zero, not a USDC contract
        receiving_address_validate(
            address=values["wallet_address"], code=ErrorCode.INVALID_WALLET_ADDRESS
        )
    currency_enabled_check(tenant.partner, values["display_currency"])

    now = timezone.now()
    merchant = Merchant(
        partner=tenant.partner,
        test_mode=tenant.test_mode,
        idempotency_key=idempotency_key,
        idempotency_hash=digest if idempotency_key else "",
        created_at=now,
        **values,
    )
    if values["wallet_address"]:
        merchant.wallet_type = Merchant.WalletType.EXTERNAL
        merchant.onboarding_status = Merchant.OnboardingStatus.COMPLETE
    else:
        merchant.onboarding_status = Merchant.OnboardingStatus.INCOMPLETE
        issue_link_fields(merchant, now)
        # A live merchant with an address gets its link by e-mail (spec
        # §5.1); a test-mode one never: test data must not mail real people.
        merchant.onboarding_email_due = bool(
            settings.JOPAY_ONBOARDING_EMAIL and values["email"] and not tenant.test_mode
        )
    merchant.full_clean(validate_unique=False, validate_constraints=False)
    try:
        # A savepoint, so a lost race leaves the caller's transaction usable.
        with transaction.atomic():
            merchant.save(force_insert=True)
            audit_record(
                partner=tenant.partner,
                test_mode=tenant.test_mode,
                action="merchant.created",
                target=merchant.pk,
                details={"onboarding_status": merchant.onboarding_status},
            )
            if merchant.onboarding_email_due:
                from .tasks import send_onboarding_email_task

                enqueue_on_commit(send_onboarding_email_task, str(merchant.pk))
    except IntegrityError:
        if idempotency_key is None:
            raise
        # A concurrent create with this key committed first (PostgreSQL made
        # us wait for it, so it is visible now): answer as a replay.
        existing = _replay_or_conflict(tenant, idempotency_key, values)
        if existing is None:
            raise
        return MerchantCreateResult(existing, replayed=True)
    return MerchantCreateResult(merchant, replayed=False)


# --- update (D28, D29, spec §11) ------------------------------------------------------


def email_address_changed(merchant: Merchant) -> bool:
    """A new address gets the onboarding e-mail still owed: its tries restart.

    The tries counted refusals of the old address; once used up (a typo the
    relay refused), correcting the address sent nothing. Sent already, or
    never owed: nothing changes. Returns whether the tries were reset.
    """
    if not merchant.onboarding_email_due or merchant.onboarding_email_sent_at:
        return False
    merchant.onboarding_email_tries = 0
    return True


@transaction.atomic
def merchant_update(*, merchant: Merchant, changes: dict[str, Any]) -> Merchant:
    """Apply validated ``changes`` (keys of ``UPDATABLE_FIELDS``) under a row lock.

    A ``display_currency`` the partner has not enabled → ``unsupported_currency``.
    ``auto_forward: true`` needs a configured auto-forward executor (else
    ``auto_forward_requires_embedded_wallet``, D29) and a withdraw address after
    this update (else ``invalid_withdraw_address``). Clearing the withdraw
    address switches auto-forward off, so auto-forward never points nowhere.
    Returns the saved row; nothing is written when an error is raised.
    """
    unknown = set(changes) - UPDATABLE_FIELDS
    if unknown:
        raise ValueError(f"fields not updatable: {sorted(unknown)}")
    if changes.get("disabled") is True:
        # D28: once the disable returns, no create for the merchant may still
        # commit. Wait for those in flight at its wallet, and hold new ones
        # back until this commits (they then see the disable); before the row
        # lock, which a committing create's foreign-key check waits on.
        merchant_creates_drain(merchant.pk)
    locked = (
        Merchant.objects.select_for_update(of=("self",))  # never the partner row
        .select_related("partner")
        .get(pk=merchant.pk)
    )
    if changes.get("withdraw_address"):  # D28: not zero, not a USDC contract
        receiving_address_validate(
            address=changes["withdraw_address"],
            code=ErrorCode.INVALID_WITHDRAW_ADDRESS,
        )
    if "display_currency" in changes:
        currency_enabled_check(locked.partner, changes["display_currency"])
    previous_withdraw = locked.withdraw_address
    before = {name: getattr(locked, name) for name in UPDATABLE_FIELDS}
    for name, value in changes.items():
        setattr(locked, name, value)
    moved = locked.withdraw_address.lower() != previous_withdraw.lower()
    if moved and "auto_forward" not in changes:
        # spec §11.1: a grant pins the destination; a new address needs a new
        # grant. Another spelling (EIP-55 or lower case) is the same address.
        locked.auto_forward = False
    if changes.get("auto_forward") is True:
        if not auto_forward_enabled():
            raise JoPayError(ErrorCode.AUTO_FORWARD_REQUIRES_EMBEDDED_WALLET)
        if not locked.withdraw_address:
            raise JoPayError(ErrorCode.INVALID_WITHDRAW_ADDRESS)
    if not locked.withdraw_address:
        locked.auto_forward = False
    changed = sorted(n for n in UPDATABLE_FIELDS if getattr(locked, n) != before[n])
    if "email" in changed:
        email_address_changed(locked)
    if changes:
        # Only what this update changes is validated: a row an older rule let in
        # (a currency since dropped from the list, a longer value) must not turn
        # every later PATCH of the merchant into a 500.
        locked.full_clean(
            exclude=[f.name for f in Merchant._meta.fields if f.name not in changed],
            validate_unique=False,
            validate_constraints=False,
        )
        locked.save()
    if changed:
        details = {
            "changed": changed,
            **{n: getattr(locked, n) for n in ("disabled", "auto_forward")},
        }
        if "withdraw_address" in changed:
            # Where money goes: both addresses, as the admin records a staff
            # edit (admin.audit.AuditedChangesMixin.audit_values).
            details["withdraw_address"] = {
                "from": before["withdraw_address"],
                "into": locked.withdraw_address,
            }
        audit_record(
            partner=locked.partner,
            test_mode=locked.test_mode,
            action="merchant.updated",
            target=locked.pk,
            details=details,
        )
    return locked
