"""Plan create, idempotent (D17), first charge due at once (D35).

The checks it runs live in ``plan_checks``; pause / resume / cancel in
``plan_actions``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from jopay_project.errors import ErrorCode, JoPayError
from jopay_project.tenancy import Tenant
from merchants.models import Merchant, Partner
from merchants.validation import body_hash, validate_evm_address
from recurring.models import Plan

from .plan_checks import (
    check_chain,
    check_currency,
    check_limits,
    check_pull,
    check_shape,
    lock_ready_merchant,
)


@dataclass(frozen=True)
class PlanCreateResult:
    plan: Plan
    replayed: bool


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
    *,
    tenant: Tenant,
    idempotency_key: str,
    idempotency_hash: str,
    customer_wallet: Any = None,
    hash_with_wallet: Callable[[str], str] | None = None,
) -> Plan | None:
    """The plan created earlier with this key, in its current state, or None (D17).

    Raises ``idempotency_conflict`` when the key was used with a different body.
    ``customer_wallet`` is the retry's and ``hash_with_wallet(spelling)`` its
    hash with the wallet spelled so: a retry spelling the original's address
    in another case (EIP-55, lower or upper case) is the same body, as for a
    merchant's ``wallet_address`` (``merchants.services``).
    """
    original = (
        Plan.objects.for_tenant(tenant)
        .select_related("merchant", "partner")
        .filter(idempotency_key=idempotency_key)
        .first()
    )
    if original is None or original.idempotency_hash == idempotency_hash:
        return original
    # Hashed as the original spelled it, so the stored hash still matches.
    if (
        hash_with_wallet is not None
        and _same_address(customer_wallet, original.customer_wallet)
        and original.idempotency_hash == hash_with_wallet(original.customer_wallet)
    ):
        return original
    raise JoPayError(ErrorCode.IDEMPOTENCY_CONFLICT)


def _same_address(retry: Any, stored: str) -> bool:
    """``retry`` is a valid spelling (a wrong EIP-55 checksum is not) of ``stored``."""
    if not isinstance(retry, str) or retry.lower() != stored.lower():
        return False
    try:
        validate_evm_address(retry, ErrorCode.INVALID_CUSTOMER_WALLET)
    except JoPayError:
        return False
    return True


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
    refuse_new: JoPayError | None = None,
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
    - ``refuse_new`` (a caller over a budget, spec §10.3): a create that would
      make a new plan raises it instead. The INSERT is still tried, so a
      concurrent create with this key that has not committed yet is waited
      for and replayed (D17: a retry racing its original), not refused.
    Nothing is written when anything raises.
    """
    metadata = dict(metadata or {})
    customer_email = customer_email or ""
    check_shape(
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

    def hash_with_wallet(wallet: str) -> str:
        return plan_body_hash(
            merchant_id=str(merchant.pk),
            fiat_amount_int=fiat_amount_int,
            frequency=frequency,
            customer_wallet=wallet,
            customer_email=customer_email,
            metadata=metadata,
            max_charges=max_charges,
            collection=collection,
            chain_id=chain_id,
            fiat_currency_code=fiat_currency_code,
        )

    digest = hash_with_wallet(customer_wallet)

    def replay(key: str) -> Plan | None:
        return plan_replay(
            tenant=tenant,
            idempotency_key=key,
            idempotency_hash=digest,
            customer_wallet=customer_wallet,
            hash_with_wallet=hash_with_wallet,
        )

    if idempotency_key is not None:
        existing = replay(idempotency_key)
        if existing is not None:
            return PlanCreateResult(existing, replayed=True)

    check_pull(collection, chain_id)
    check_chain(chain_id, test_mode)
    # D28: the merchant's readiness is checked under a lock held until the
    # plan is written, so a disable committing meanwhile cannot be missed
    # (``lock_ready_merchant``). No network I/O happens in here.
    with transaction.atomic():
        merchant = lock_ready_merchant(merchant, partner)
        fiat_code = check_currency(merchant, partner, fiat_currency_code)
        check_limits(partner, fiat_amount_int, fiat_code)
        return _insert(
            replay,
            refuse_new,
            now=now or timezone.now(),
            idempotency_key=idempotency_key,
            plan=Plan(
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
                idempotency_key=idempotency_key,
                idempotency_hash=digest if idempotency_key else "",
            ),
        )


def _insert(
    replay: Callable[[str], Plan | None],
    refuse_new: JoPayError | None,
    *,
    now: datetime,
    idempotency_key: str | None,
    plan: Plan,
) -> PlanCreateResult:
    """Write ``plan`` due at ``now`` (D35), or answer the key's replay (D17)."""
    plan.anchor_at = plan.next_charge_at = plan.created_at = now
    try:
        # A savepoint: a lost idempotency race leaves the caller's transaction usable.
        with transaction.atomic():
            plan.save(force_insert=True)
            if refuse_new is not None:
                raise refuse_new  # the key was free: rolled back, nothing made
    except IntegrityError:
        if idempotency_key is None:
            raise
        # A concurrent create with this key committed first (PostgreSQL made us
        # wait for it, so it is visible now): answer as its replay.
        existing = replay(idempotency_key)
        if existing is None:
            raise
        return PlanCreateResult(existing, replayed=True)
    return PlanCreateResult(plan, replayed=False)


def plan_create(**kwargs: Any) -> Plan:
    """``plan_create_or_replay(...)`` for callers that only want the plan."""
    return plan_create_or_replay(**kwargs).plan
