"""The checks behind plan creation (D12, D13, D15, D19, D29), for ``plans``.

Each raises the ``JoPayError`` a create body that fails it gets; none writes.
Not exported from ``recurring.services``: callers create plans through
``plan_create_or_replay``.
"""

from __future__ import annotations

from typing import Any

from django.db import connection

from jopay_project.errors import ErrorCode, JoPayError
from jopay_project.executors import recurring_executor, recurring_pull_enabled
from merchants.addresses import is_usdc_contract
from merchants.models import Merchant, Partner
from merchants.validation import validate_evm_address
from payments.money import MAX_FIAT_INT, fiat_to_usdc_micro, is_supported
from payments.proofs.services import chain_for_proof
from payments.services.amounts import amount_base, amount_check_limits
from payments.services.fx import fx_rate_for
from recurring.models import Plan


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_shape(
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
    # D28's rule for merchants holds for the payer too: a USDC token contract
    # holds no USDC of its own to pay with and signs no approval, so every
    # charge of such a plan would only ever be owed.
    if is_usdc_contract(customer_wallet):
        raise JoPayError(ErrorCode.INVALID_CUSTOMER_WALLET)
    if max_charges is not None and (
        not _is_int(max_charges) or not 1 <= max_charges <= MAX_FIAT_INT
    ):
        raise JoPayError(ErrorCode.INVALID_REQUEST, field="max_charges")
    if collection not in Plan.Collection.values:
        raise JoPayError(ErrorCode.INVALID_REQUEST, field="collection")
    if chain_id is not None and (not _is_int(chain_id) or chain_id <= 0):
        raise JoPayError(ErrorCode.INVALID_REQUEST, field="chain_id")


def check_pull(collection: str, chain_id: int | None) -> None:
    """D29: ``pull`` needs an ERC-7715 executor configured for the plan's chain."""
    if collection != Plan.Collection.PULL:
        return
    if not recurring_pull_enabled():
        raise JoPayError(ErrorCode.RECURRING_REQUIRES_EMBEDDED_WALLET)
    if chain_id is None:
        raise JoPayError(ErrorCode.INVALID_REQUEST, field="chain_id")
    if recurring_executor(chain_id) is None:
        raise JoPayError(ErrorCode.RECURRING_REQUIRES_EMBEDDED_WALLET)


def check_chain(chain_id: int | None, test_mode: bool) -> None:
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


# D28: the merchant row as committed now, share-locked until the create's
# transaction ends. Every disable locks the row for update (``merchant_update``
# with ``select_for_update``, the admin's save with its UPDATE), so the two
# serialise: a create that read the merchant before a disable committed waits
# for it here and sees the merchant disabled, and a disable waits for a create
# that got the lock first, whose plan then commits before the disable. SHARE,
# not UPDATE: creates for one merchant do not wait for each other.
_MERCHANT_FOR_PLAN = 'SELECT * FROM "{table}" WHERE "id" = %s'


def lock_ready_merchant(merchant: Merchant, partner: Partner) -> Merchant:
    """``merchant`` re-read under a share lock; ``merchant_not_ready`` unless ready.

    Inside the create's transaction, before anything is written. SQLite
    serialises writers, so it only re-reads there.
    """
    sql = _MERCHANT_FOR_PLAN.format(table=Merchant._meta.db_table)
    if connection.vendor == "postgresql":
        sql += " FOR SHARE"
    pk = Merchant._meta.pk.get_db_prep_value(merchant.pk, connection)
    locked = next(iter(Merchant.objects.raw(sql, [pk])), None)
    if locked is None or not locked.is_ready:
        raise JoPayError(ErrorCode.MERCHANT_NOT_READY)
    locked.partner = partner  # the caller checked it is the merchant's
    return locked


def check_currency(merchant: Merchant, partner: Partner, asserted: str | None) -> str:
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


def check_limits(partner: Partner, fiat_int: int, currency: str) -> None:
    """Refuse at creation an amount every charge would refuse (D13, D15, D35).

    Another currency is compared through the current FX rates, and so is the
    D15 floor (at least 0.001 USDC): a plan of 1 KRW would otherwise be
    created and then fail every charge until it paused. What cannot be told
    for want of a usable rate right now is left to each charge: the limits
    without the default currency's rate, the floor without the plan's. The
    floor needs only the plan currency's rate, so a missing default rate no
    longer lets a plan under it through.
    """
    try:
        amount_check_limits(partner=partner, fiat_int=fiat_int, currency=currency)
    except JoPayError as exc:
        if exc.code != ErrorCode.FX_UNAVAILABLE:
            raise
    try:
        rate = fx_rate_for(partner, currency).rate
    except JoPayError as exc:
        if exc.code != ErrorCode.FX_UNAVAILABLE:
            raise
        return
    amount_base(fiat_to_usdc_micro(fiat_int, currency, rate))
