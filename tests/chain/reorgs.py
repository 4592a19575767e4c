"""Driving chain reorganisations on anvil for the reorg tests (D36).

``anvil_reorg(depth, [[tx, offset], …])`` replaces the last ``depth`` blocks
by as many new ones (the head number stays); a transaction of the old blocks
not listed is dropped for good, a listed one (signed, so the same hash) is
mined in the new block ``offset`` past the fork point. The ``reorg_chain``
fixture (conftest) asks 3 confirmations, so its reorg margin (D36: the
confirmations on a ``local`` chain) is 3 too.
"""

from __future__ import annotations

from eth_account import Account
from web3 import Web3

from payments.chain.devnode import DEV_ACCOUNTS, DEV_KEYS
from payments.chain.watcher import scan_chain
from payments.models import Chain
from payments.proofs.services import proof_verify
from webhooks.models import WebhookEvent

CHAIN_ID = 31337
CONFIRMATIONS = 3
ATTACHED, VERIFIED, MISMATCH = (
    "payment.proof_attached",
    "payment.proof_verified",
    "payment.proof_mismatch",
)


def signed(
    w3, usdc, *, payer: str, to: str, value: int, nonce_offset: int = 0, bump: int = 0
):
    """A signed ``transfer`` (not sent): ``(raw 0x-hex, tx hash)``.

    ``bump`` (wei) raises the gas price, as a wallet's speed-up does.
    """
    tx = usdc.functions.transfer(to, value).build_transaction(
        {
            "from": payer,
            "nonce": w3.eth.get_transaction_count(payer) + nonce_offset,
            "gas": 100_000,
            "gasPrice": w3.eth.gas_price * 2 + bump,
            "chainId": CHAIN_ID,
        }
    )
    raw = Account.sign_transaction(tx, _key(payer)).raw_transaction
    return "0x" + bytes(raw).hex(), "0x" + bytes(Web3.keccak(raw)).hex()


def send(w3, raw: str) -> int:
    """Send a signed transaction (anvil mines it at once); its block number."""
    tx_hash = w3.eth.send_raw_transaction(raw)
    return w3.eth.wait_for_transaction_receipt(tx_hash).blockNumber


def reorg(anvil, depth: int, txs: list[tuple[str, int]] = ()) -> None:
    anvil.rpc("anvil_reorg", [depth, [[raw, offset] for raw, offset in txs]])


def scan(chain):
    return scan_chain(Chain.objects.get(pk=chain.pk))


def check(pr, **kwargs):
    """One verification of the attached proof, as the re-check would run it."""
    return proof_verify(request_id=pr.pk, **kwargs)


def verified_events(pr) -> list[dict]:
    """Payloads of the request's ``payment.proof_verified`` events."""
    return list(
        WebhookEvent.objects.filter(request_id=pr.pk, type=VERIFIED).values_list(
            "payload", flat=True
        )
    )


def _key(address: str) -> str:
    return DEV_KEYS[DEV_ACCOUNTS.index(address)]
