"""The chains JoPay ships (D19, D36): Circle's native USDC, no RPC URLs.

The seed data migration carries a frozen copy of this table (migrations must
not change when code does); ``tests/chain/test_registry.py`` keeps the two in
step. The defaults are unusable until an operator adds RPC URLs with
``configure_chain`` or the admin (D19).
"""

from __future__ import annotations

from dataclasses import dataclass

# D36: default confirmations per chain family.
CONFIRMATIONS_TESTNET = 2
CONFIRMATIONS_LOCAL = 1
# D36: the watcher's reorg margin is the chain's confirmations, at least 12
# blocks anywhere but a local dev node.
MIN_REORG_MARGIN = 12


@dataclass(frozen=True)
class ChainDefault:
    chain_id: int
    name: str
    is_testnet: bool
    usdc_address: str
    confirmations: int
    explorer_tx_url: str
    decimals: int = 6


DEFAULT_CHAINS: tuple[ChainDefault, ...] = (
    # Mainnets (live mode).
    ChainDefault(
        1,
        "Ethereum",
        False,
        "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48",
        12,
        "https://etherscan.io/tx/{tx}",
    ),
    ChainDefault(
        137,
        "Polygon",
        False,
        "0x3c499c542cEF5E3811e1192ce70d8cC03d5c3359",
        32,
        "https://polygonscan.com/tx/{tx}",
    ),
    ChainDefault(
        8453,
        "Base",
        False,
        "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913",
        12,
        "https://basescan.org/tx/{tx}",
    ),
    ChainDefault(
        10,
        "Optimism",
        False,
        "0x0b2C639c533813f4Aa9D7837CAf62653d097Ff85",
        12,
        "https://optimistic.etherscan.io/tx/{tx}",
    ),
    ChainDefault(
        42161,
        "Arbitrum One",
        False,
        "0xaf88d065e77c8cC2239327C5EDb3A432268e5831",
        20,
        "https://arbiscan.io/tx/{tx}",
    ),
    # Public testnets (test mode).
    ChainDefault(
        11155111,
        "Sepolia",
        True,
        "0x1c7D4B196Cb0C7B01d743Fbc6116a902379C7238",
        CONFIRMATIONS_TESTNET,
        "https://sepolia.etherscan.io/tx/{tx}",
    ),
    ChainDefault(
        80002,
        "Polygon Amoy",
        True,
        "0x41E94Eb019C0762f9Bfcf9Fb1E58725BfB0e7582",
        CONFIRMATIONS_TESTNET,
        "https://amoy.polygonscan.com/tx/{tx}",
    ),
    ChainDefault(
        84532,
        "Base Sepolia",
        True,
        "0x036CbD53842c5426634e7929541eC2318f3dCF7e",
        CONFIRMATIONS_TESTNET,
        "https://sepolia.basescan.org/tx/{tx}",
    ),
    ChainDefault(
        11155420,
        "OP Sepolia",
        True,
        "0x5fd84259d66Cd46123540766Be93DFE6D43130D7",
        CONFIRMATIONS_TESTNET,
        "https://sepolia-optimism.etherscan.io/tx/{tx}",
    ),
    ChainDefault(
        421614,
        "Arbitrum Sepolia",
        True,
        "0x75faf114eafb1BDbe2F0316DF893fd58CE46AA4d",
        CONFIRMATIONS_TESTNET,
        "https://sepolia.arbiscan.io/tx/{tx}",
    ),
)

DEFAULTS_BY_ID: dict[int, ChainDefault] = {c.chain_id: c for c in DEFAULT_CHAINS}

# The gas token a wallet is told about when it adds a chain (EIP-3085
# ``nativeCurrency``): Ether on Ethereum, its L2s, their testnets and a local
# node; Polygon's own token on Polygon and Amoy. A chain an operator adds with
# another gas token needs its entry here (wallets show the symbol, and some
# warn when it differs from the one they know for the chain id).
ETHER = {"name": "Ether", "symbol": "ETH", "decimals": 18}
NATIVE_CURRENCIES: dict[int, dict[str, str | int]] = {
    137: {"name": "POL", "symbol": "POL", "decimals": 18},
    80002: {"name": "POL", "symbol": "POL", "decimals": 18},
}


def native_currency(chain_id: int) -> dict[str, str | int]:
    """EIP-3085 ``nativeCurrency`` for ``chain_id`` (a fresh dict)."""
    return dict(NATIVE_CURRENCIES.get(chain_id, ETHER))


def default_confirmations(*, chain_id: int, is_testnet: bool, is_local: bool) -> int:
    """D36: the shipped figure for a known chain, else by family."""
    if is_local:
        return CONFIRMATIONS_LOCAL
    known = DEFAULTS_BY_ID.get(chain_id)
    if known is not None:
        return known.confirmations
    return CONFIRMATIONS_TESTNET if is_testnet else 12


def reorg_margin(*, confirmations: int, is_local: bool) -> int:
    """D36: the watcher re-reads this many blocks behind its cursor."""
    if is_local:
        return max(confirmations, 0)
    return max(confirmations, MIN_REORG_MARGIN)
