"""Plan create (idempotent) and the pause / resume / cancel actions (D17, D29, D35)."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from jopay_project.errors import ErrorCode, JoPayError
from jopay_project.executors import recurring_executor, recurring_pull_enabled
from jopay_project.tenancy import Tenant
from merchants.models import Merchant, Partner
from merchants.validation import body_hash, validate_evm_address
from payments.money import MAX_FIAT_INT, fiat_to_usdc_micro, is_supported
from payments.proofs.services import chain_for_proof
from payments.services.amounts import amount_base, amount_check_limits
from payments.services.fx import fx_rate_for
from recurring.models import Plan
from recurring.schedule import next_slot_after, slot_at

# D29: this many charges in a row that could not be created pause the plan.
FAILURES_BEFORE_PAUSE = 3


@dataclass(frozen=True)
class PlanCreateResult:
    plan: Plan
    replayed: bool


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_shape(
    *,
    fiat_amount_int: int,
    frequency: str,
    customer_wallet: str,
    max_charges: int | None,
    collection: str,
    chain_id: int | None,
) -> None:
    # The API layer already parsed these; the service re-checks what guards
    # money so no other caller (admin, portal, shell) can store a bad plan.
    if not _is_int(fiat_amount_int) or not 1 <= fiat_amount_int <= MAX_FIAT_INT:
        raise JoPayError(ErrorCode.INVALID_AMOUNT)
    if frequency not in Plan.Frequency.values:
        raise JoPayError(ErrorCode.INVALID_FREQUENCY)
    validate_evm_address(customer_wallet, ErrorCode.INVALID_CUSTOMER_WALLET)
    if max_charges is not None and (
        not _is_int(max_charges) or not 1 <= max_charges <= MAX_FIAT_INT
    ):
        raise JoPayError(ErrorCode.INVALID_REQUEST, field="max_charges")
    if collection not in Plan.Collection.values:
        raise JoPayError(ErrorCode.INVALID_REQUEST, field="collection")
    if chain_id is not None and (not _is_int(chain_id) or chain_id <= 0):
        raise JoPayError(ErrorCode.INVALID_REQUEST, field="chain_id")


def _check_pull(collection: str, chain_id: int | None) -> None:
    """D29: ``pull`` needs an ERC-7715 executor configured for the plan's chain."""
    if collection != Plan.Collection.PULL:
        return
    if not recurring_pull_enabled():
        raise JoPayError(ErrorCode.RECURRING_REQUIRES_EMBEDDED_WALLET)
    if chain_id is None:
        raise JoPayError(ErrorCode.INVALID_REQUEST, field="chain_id")
    if recurring_executor(chain_id) is None:
        raise JoPayError(ErrorCode.RECURRING_REQUIRES_EMBEDDED_WALLET)


def _check_chain(chain_id: int | None, test_mode: bool) -> None:
    """D19: a named chain must be one the key's mode accepts, as at proof attach.

    The same check as attaching a proof (``chain_for_proof``): registered,
    enabled, with RPC URLs, and a mainnet for live or a testnet / ``local``
    chain for test, else ``unsupported_chain``. A known chain without RPC URLs
    (the shipped defaults until an operator configures them) is refused too:
    without an RPC no payment on it can be verified, neither a pull charge nor
    an invoice the customer pays on the pay page, so a plan naming it could
    never be collected there. An operator configures the chain first.
    """
    if chain_id is None:
        return
    try:
        chain_for_proof(chain_id=chain_id, test_mode=test_mode)
    except JoPayError as exc:
        # Same code; the registry's sentence speaks of a request.
        raise JoPayError(
            exc.code, "That chain is not accepted for plans in this mode."
        ) from None


def _check_currency(merchant: Merchant, partner: Partner, asserted: str | None) -> str:
    """D12: the merchant's effective currency, supported and enabled for the partner.

    ``asserted`` (the body's ``fiat_currency_code``) is only a check: not one of
    the 28 → ``invalid_currency``; another code → ``currency_mismatch``.
    """
    code = merchant.effective_currency()
    if asserted is not None:
        if not is_supported(asserted):
            raise JoPayError(ErrorCode.INVALID_CURRENCY)
        if asserted != code:
            raise JoPayError(ErrorCode.CURRENCY_MISMATCH, expected_fiat_code=code)
    if not is_supported(code):
        raise JoPayError(ErrorCode.INVALID_CURRENCY)
    if code not in (partner.enabled_currencies or []):
        raise JoPayError(ErrorCode.UNSUPPORTED_CURRENCY)
    return code


def _check_limits(partner: Partner, fiat_int: int, currency: str) -> None:
    """Refuse at creation an amount every charge would refuse (D13, D15, D35).

    Another currency is compared through the current FX rates, and so is the
    D15 floor (at least 0.001 USDC): a plan of 1 KRW would otherwise be
    created and then fail every charge until it paused. When there is no
    usable rate right now the plan is still created and each charge decides.
    """
    try:
        amount_check_limits(partner=partner, fiat_int=fiat_int, currency=currency)
        rate = fx_rate_for(partner, currency).rate
    except JoPayError as exc:
        if exc.code != ErrorCode.FX_UNAVAILABLE:
            raise
        return
    amount_base(fiat_to_usdc_micro(fiat_int, currency, rate))


def plan_body_hash(
    *,
    merchant_id: Any,
    fiat_amount_int: Any,
    frequency: Any,
    customer_wallet: Any,
    customer_email: Any = "",
    metadata: Any = None,
    max_charges: Any = None,
    collection: Any = Plan.Collection.INVOICE,
    chain_id: Any = None,
    fiat_currency_code: Any = None,
) -> str:
    """D17: the idempotency hash of a create body's normalised known fields.

    The one definition of "the same body" for plans: the service hashes the
    parsed fields with it, and the API the raw body before validating (any
    JSON value is accepted), so both agree on every valid body. Omitted and
    default values are the same body (``customer_email`` "" / null,
    ``metadata`` {} / null, ``collection`` "invoice" / null);
    ``fiat_currency_code`` counts only when given, as for payment requests.
    """
    known = {
        "merchant_id": merchant_id,
        "fiat_amount_int": fiat_amount_int,
        "frequency": frequency,
        "customer_wallet": customer_wallet,
        "customer_email": "" if customer_email is None else customer_email,
        "metadata": {} if metadata is None else metadata,
        "max_charges": max_charges,
        "collection": Plan.Collection.INVOICE if collection is None else collection,
        "chain_id": chain_id,
    }
    if fiat_currency_code is not None:
        known["fiat_currency_code"] = fiat_currency_code
    return body_hash(known)


def plan_replay(
    *, tenant: Tenant, idempotency_key: str, idempotency_hash: str
) -> Plan | None:
    """The plan created earlier with this key, in its current state, or None (D17).

    Raises ``idempotency_conflict`` when the key was used with a different body.
    """
    original = (
        Plan.objects.for_tenant(tenant)
        .select_related("merchant", "partner")
        .filter(idempotency_key=idempotency_key)
        .first()
    )
    if original is not None and original.idempotency_hash != idempotency_hash:
        raise JoPayError(ErrorCode.IDEMPOTENCY_CONFLICT)
    return original


def plan_create_or_replay(
    *,
    partner: Partner,
    test_mode: bool,
    merchant: Merchant,
    fiat_amount_int: int,
    frequency: str,
    customer_wallet: str,
    customer_email: str = "",
    metadata: dict[str, str] | None = None,
    max_charges: int | None = None,
    collection: str = Plan.Collection.INVOICE,
    chain_id: int | None = None,
    fiat_currency_code: str | None = None,
    idempotency_key: str | None = None,
    now: datetime | None = None,
) -> PlanCreateResult:
    """Create an active plan whose first charge is due at once (D35), or replay one.

    Guarantees:
    - ``merchant`` belongs to ``partner`` in ``test_mode`` (else ``not_found``);
    - the amount is fixed in the merchant's effective currency at creation
      (``invalid_currency`` / ``unsupported_currency`` otherwise, and
      ``currency_mismatch`` when ``fiat_currency_code`` names another, D12) and is
      within the partner's limits and at least the D15 floor of 0.001 USDC
      (``amount_below_minimum`` / ``amount_exceeds_max``) when that can be
      told without a missing FX rate;
    - ``pull`` needs a configured executor (``recurring_requires_embedded_wallet``);
      a ``chain_id`` must be a usable chain the mode accepts (``unsupported_chain``,
      D19);
      an incomplete or disabled merchant answers ``merchant_not_ready``;
    - ``anchor_at`` = ``next_charge_at`` = ``created_at`` = ``now``;
    - D17: with ``idempotency_key`` the same key and the same normalised fields
      return the original plan in its current state (``replayed``), also under
      concurrent retries (the unique constraint decides, losers re-read); the
      same key with other fields (``fiat_currency_code`` included, as for
      payment requests) raises ``idempotency_conflict``. The replay is
      answered before the state checks, so it holds after the merchant changed.
    Nothing is written when anything raises.
    """
    metadata = dict(metadata or {})
    customer_email = customer_email or ""
    _check_shape(
        fiat_amount_int=fiat_amount_int,
        frequency=frequency,
        customer_wallet=customer_wallet,
        max_charges=max_charges,
        collection=collection,
        chain_id=chain_id,
    )
    if merchant.partner_id != partner.pk or merchant.test_mode != test_mode:
        raise JoPayError(ErrorCode.NOT_FOUND)
    tenant = Tenant(partner=partner, test_mode=test_mode)
    digest = plan_body_hash(
        merchant_id=str(merchant.pk),
        fiat_amount_int=fiat_amount_int,
        frequency=frequency,
        customer_wallet=customer_wallet,
        customer_email=customer_email,
        metadata=metadata,
        max_charges=max_charges,
        collection=collection,
        chain_id=chain_id,
        fiat_currency_code=fiat_currency_code,
    )
    if idempotency_key is not None:
        existing = plan_replay(
            tenant=tenant, idempotency_key=idempotency_key, idempotency_hash=digest
        )
        if existing is not None:
            return PlanCreateResult(existing, replayed=True)

    _check_pull(collection, chain_id)
    _check_chain(chain_id, test_mode)
    if not merchant.is_ready:
        raise JoPayError(ErrorCode.MERCHANT_NOT_READY)
    fiat_code = _check_currency(merchant, partner, fiat_currency_code)
    _check_limits(partner, fiat_amount_int, fiat_code)

    now = now or timezone.now()
    plan = Plan(
        partner=partner,
        test_mode=test_mode,
        merchant=merchant,
        fiat_amount_int=fiat_amount_int,
        fiat_code=fiat_code,
        frequency=frequency,
        customer_wallet=customer_wallet,
        customer_email=customer_email,
        metadata=metadata,
        max_charges=max_charges,
        collection=collection,
        chain_id=chain_id,
        status=Plan.Status.ACTIVE,
        anchor_at=now,
        next_charge_at=now,
        created_at=now,
        idempotency_key=idempotency_key,
        idempotency_hash=digest if idempotency_key else "",
    )
    try:
        # A savepoint: a lost idempotency race leaves the caller's transaction usable.
        with transaction.atomic():
            plan.save(force_insert=True)
    except IntegrityError:
        if idempotency_key is None:
            raise
        # A concurrent create with this key committed first (PostgreSQL made us
        # wait for it, so it is visible now): answer as its replay.
        existing = plan_replay(
            tenant=tenant, idempotency_key=idempotency_key, idempotency_hash=digest
        )
        if existing is None:
            raise
        return PlanCreateResult(existing, replayed=True)
    return PlanCreateResult(plan, replayed=False)


def plan_create(**kwargs: Any) -> Plan:
    """``plan_create_or_replay(...)`` for callers that only want the plan."""
    return plan_create_or_replay(**kwargs).plan


# --- actions (D35) ------------------------------------------------------------------


def _locked(tenant: Tenant, plan_id: uuid.UUID) -> Plan:
    plan = (
        Plan.objects.for_tenant(tenant)
        .select_for_update(of=("self",))
        .select_related("merchant", "partner")
        .filter(pk=plan_id)
        .first()
    )
    if plan is None:
        raise JoPayError(ErrorCode.PLAN_NOT_FOUND)
    if plan.is_terminated:
        # D35: any action on a cancelled or completed plan, a second cancel included.
        raise JoPayError(ErrorCode.PLAN_ALREADY_TERMINATED)
    return plan


@transaction.atomic
def plan_pause(
    *, tenant: Tenant, plan_id: uuid.UUID, now: datetime | None = None
) -> Plan:
    """active → paused; the job skips it and ``next_charge_at`` becomes null.

    Raises ``plan_not_found`` (unknown, foreign, other mode),
    ``plan_already_terminated`` or ``can_only_pause_active_plans``. The row is
    locked, so a pause cannot interleave with the job charging the plan.
    """
    plan = _locked(tenant, plan_id)
    if plan.status != Plan.Status.ACTIVE:
        raise JoPayError(ErrorCode.CAN_ONLY_PAUSE_ACTIVE_PLANS)
    plan.status = Plan.Status.PAUSED
    plan.paused_at = now or timezone.now()
    plan.next_charge_at = None
    plan.save(update_fields=["status", "paused_at", "next_charge_at", "updated_at"])
    return plan


@transaction.atomic
def plan_resume(
    *, tenant: Tenant, plan_id: uuid.UUID, now: datetime | None = None
) -> Plan:
    """paused → active, next charge at the first slot strictly after ``now`` (D29).

    Slots missed while paused are skipped, never caught up, and the failure
    count starts again from 0 (a resume is a deliberate fresh start). Raises
    ``plan_not_found``, ``plan_already_terminated`` or
    ``can_only_resume_paused_plans``.
    """
    plan = _locked(tenant, plan_id)
    if plan.status != Plan.Status.PAUSED:
        raise JoPayError(ErrorCode.CAN_ONLY_RESUME_PAUSED_PLANS)
    now = now or timezone.now()
    slot = next_slot_after(plan.anchor_at, plan.frequency, now)
    plan.status = Plan.Status.ACTIVE
    plan.paused_at = None
    plan.consecutive_failures = 0
    plan.next_charge_at = slot_at(plan.anchor_at, plan.frequency, slot)
    plan.save(
        update_fields=[
            "status",
            "paused_at",
            "consecutive_failures",
            "next_charge_at",
            "updated_at",
        ]
    )
    return plan


@transaction.atomic
def plan_cancel(
    *, tenant: Tenant, plan_id: uuid.UUID, now: datetime | None = None
) -> Plan:
    """active or paused → cancelled, for good; charges already made stay as they are.

    Raises ``plan_not_found`` or ``plan_already_terminated`` (a second cancel
    too, D35).
    """
    plan = _locked(tenant, plan_id)
    plan.status = Plan.Status.CANCELLED
    plan.cancelled_at = now or timezone.now()
    plan.next_charge_at = None
    plan.save(update_fields=["status", "cancelled_at", "next_charge_at", "updated_at"])
    return plan
