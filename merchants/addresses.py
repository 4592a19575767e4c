"""Where a merchant's money may go (D28): the checks that need the chain registry.

``validation.validate_evm_address`` is pure (shape, EIP-55 checksum, not the
zero address). This adds the one check that reads the database: a wallet or
withdraw address must not be a USDC token contract, configured in the chain
registry or shipped in ``payments.chain.defaults`` (D19). USDC sent to its own
contract is lost for good, so such a merchant could be paid exactly once, into
nowhere. Every entry point that sets these addresses (API create and PATCH,
the onboarding page, the admin) goes through ``receiving_address_validate``.
"""

from __future__ import annotations

from typing import Any

from jopay_project.errors import ErrorCode, JoPayError
from payments.chain.defaults import DEFAULT_CHAINS
from payments.models import Chain

from .validation import validate_evm_address

_SHIPPED_USDC = frozenset(chain.usdc_address.lower() for chain in DEFAULT_CHAINS)


def is_usdc_contract(address: str) -> bool:
    """Whether ``address`` (any case) is a shipped or configured USDC contract.

    Cheap: the shipped table answers without a query, else one query over the
    chain registry's few rows (the column holds EIP-55, hence ``iexact``).
    """
    if address.lower() in _SHIPPED_USDC:
        return True
    return Chain.objects.filter(usdc_address__iexact=address).exists()


def receiving_address_validate(*, address: Any, code: ErrorCode) -> str:
    """``validate_evm_address`` plus: not a USDC contract; returns ``address``.

    Raises ``JoPayError(code)`` (``invalid_wallet_address`` or
    ``invalid_withdraw_address``, the caller's field) for either (D28).
    """
    validate_evm_address(address, code)
    if is_usdc_contract(address):
        raise JoPayError(code)
    return address
