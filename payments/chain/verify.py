"""Does a transaction pay a request? (D20) — read-only, no database writes.

``verify_transfer`` looks at one ``(chain, tx_hash)`` and answers a ``Verdict``:

* ``verified`` with the on-chain evidence of D23 (block_number, block_hash,
  log_index, token_address, value_micro, confirmations, payer_address);
* ``mismatch`` with a reason: ``tx_failed``, ``wrong_token``,
  ``wrong_recipient`` (also: the only USDC to the wallet is exactly the amount
  another request there was awaiting, so it is that request's payment),
  ``underpaid``, ``late`` (mined outside the request's payment window: after
  ``expires_at`` + grace, or before the request existed);
* ``pending``: no receipt yet (or only one from a block off the chain), or
  not enough confirmations.

No verdict is ever given from a block with fewer confirmations than the chain
requires, failed transactions included: a reorg could still replace it.
RPC trouble raises ``RpcUnavailable`` / ``RpcError`` (never a mismatch: D20).
``not_found_after_timeout`` needs the attach time, so the proof service
decides it from a ``pending`` verdict with ``no_receipt``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from eth_utils import to_checksum_address

from .logs import TransferLog, decode_transfer, hex_text
from .rpc import ChainClient

if TYPE_CHECKING:
    from collections.abc import Callable

    from payments.models import Chain

    # (value_micro, block time) → whether another request at the wallet was
    # awaiting exactly that amount then (see ``verify_transfer``).
    AwaitedElsewhere = Callable[[int, datetime], bool]

MICRO_DECIMALS = 6

VERIFIED = "verified"
MISMATCH = "mismatch"
PENDING = "pending"

# Pending reasons (internal; never on the wire).
NO_RECEIPT = "no_receipt"
CONFIRMATIONS = "confirmations"

# D15, D20: a transfer mined before the request existed cannot pay it (an old
# deposit, or another request's payment, pasted on the pay page). The request's
# ``created_at`` is our clock and a block's timestamp the block producer's; they
# disagree by a few seconds (validator drift, NTP, L2 sequencers stamping
# batches), so a payment sent the moment the page showed the amount may carry a
# timestamp slightly before ``created_at``. Two minutes absorbs that; nobody can
# have known the tagged amount (D15) earlier than that anyway.
CREATED_AT_SKEW = timedelta(seconds=120)


def window_start(created_at: datetime) -> datetime:
    """The earliest block time that can pay a request created at ``created_at``."""
    return created_at - CREATED_AT_SKEW


@dataclass(frozen=True)
class Verdict:
    outcome: str  # verified | mismatch | pending
    reason: str | None = None  # mismatch_reason, or the pending reason
    evidence: dict[str, Any] = field(default_factory=dict)
    payer_address: str | None = None
    overpaid_micro: int = 0
    confirmations: int = 0
    # Every USDC transfer of the transaction as (recipient, micro-USDC), on a
    # mismatch judged from a receipt: another request — at this wallet or any
    # other — awaiting exactly one of them may have been passed over by the
    # watcher while this proof held the hash (D15, D20).
    usdc_transfers: tuple[tuple[str, int], ...] = ()

    @property
    def is_final(self) -> bool:
        return self.outcome in (VERIFIED, MISMATCH)


def to_micro(value: int, decimals: int) -> int:
    """Raw token units → micro-USDC (D19). Finer than a micro rounds down.

    Rounding down never turns an underpayment into a payment: a value a hair
    below the amount in an 18-decimals token floors below the amount too.
    """
    if decimals >= MICRO_DECIMALS:
        return value // 10 ** (decimals - MICRO_DECIMALS)
    return value * 10 ** (MICRO_DECIMALS - decimals)


def from_micro(usdc_micro: int, decimals: int) -> int:
    """micro-USDC → raw token units (the EIP-681 ``uint256`` of the pay page)."""
    if decimals >= MICRO_DECIMALS:
        return usdc_micro * 10 ** (decimals - MICRO_DECIMALS)
    # A token coarser than micro-USDC cannot carry the D15 tag; round up so
    # the payer never underpays.
    unit = 10 ** (MICRO_DECIMALS - decimals)
    return -(-usdc_micro // unit)


def verify_transfer(
    client: ChainClient,
    chain: Chain,
    tx_hash: str,
    *,
    receiving_address: str,
    usdc_micro: int,
    not_before: datetime,
    deadline: datetime,
    awaited_elsewhere: AwaitedElsewhere | None = None,
) -> Verdict:
    """The D20 verdict for ``tx_hash`` paying ``usdc_micro`` to ``receiving_address``.

    The paying log is one of exactly ``usdc_micro`` if the transaction has one
    (its evidence is the log that matches). A larger one is an overpayment,
    accepted (D20) unless ``awaited_elsewhere(value_micro, block_time)`` says
    another request at this wallet was waiting for exactly that amount at that
    time: D15 made that amount unique to it, so the transfer is its payment
    (the watcher gives it to it), and accepting it here would mark this request
    paid with someone else's money and lock the real payer out (the hash can
    prove one request only). Such a transaction is ``wrong_recipient``.

    The payment window is judged by the block's timestamp: ``deadline`` is
    ``expires_at`` + the grace (``PaymentRequest.proof_deadline``) and
    ``not_before`` is ``window_start(created_at)``; a transfer mined outside
    ``[not_before, deadline]`` is ``late``. D20's closed set of reasons has none
    for "before the request existed", so ``late`` stands for "outside the
    request's payment window" both ways.
    Raises ``RpcUnavailable`` / ``RpcError`` when the chain cannot be asked.
    """
    receipt = client.receipt(tx_hash)
    if receipt is None or receipt.get("blockNumber") is None:
        return Verdict(PENDING, NO_RECEIPT)
    block_number = int(receipt["blockNumber"])
    # Confirmations count from a block the node has shown, not from
    # eth_blockNumber: behind a balancer that may be another backend's claim.
    head = client.head().number
    confirmations = max(head - block_number + 1, 0)
    if confirmations < chain.confirmations:
        return Verdict(PENDING, CONFIRMATIONS, confirmations=confirmations)
    block = client.block(block_number)
    if receipt.get("blockHash") is not None and (
        hex_text(receipt["blockHash"]).lower() != block.hash.lower()
    ):
        # The receipt's block is not the chain's block at that height any
        # more (a reorg between the two calls, or a provider serving a stale
        # fork): no verdict from it, of any kind; ask again later. The
        # transaction is on no chain we can verify, so it counts as "no
        # receipt" and D20's 30-minute timeout applies: a node that kept
        # answering such a receipt had kept the proof attached for ever.
        return Verdict(PENDING, NO_RECEIPT, confirmations=confirmations)

    if int(receipt.get("status", 0)) != 1:
        return Verdict(MISMATCH, "tx_failed", confirmations=confirmations)

    transfers = [t for t in map(decode_transfer, receipt.get("logs") or []) if t]
    usdc = to_checksum_address(chain.usdc_address)
    recipient = to_checksum_address(receiving_address)
    usdc_transfers = [t for t in transfers if t.token_address == usdc]
    to_us = [t for t in usdc_transfers if t.to_address == recipient]
    sent = tuple(
        (t.to_address, to_micro(t.value, chain.decimals)) for t in usdc_transfers
    )
    if not to_us:
        # USDC went somewhere else → wrong recipient (maybe another request's
        # payment: the transfers go with the verdict); anything else (another
        # token, plain ETH, no transfer at all) → wrong token.
        if usdc_transfers:
            return Verdict(
                MISMATCH,
                "wrong_recipient",
                confirmations=confirmations,
                usdc_transfers=sent,
            )
        return Verdict(MISMATCH, "wrong_token", confirmations=confirmations)

    enough = [t for t in to_us if to_micro(t.value, chain.decimals) >= usdc_micro]

    def wallet_mismatch(reason: str, payer: TransferLog) -> Verdict:
        # USDC reached the wallet but does not pay this request: the transfers
        # go with the verdict (another request may be awaiting one of them).
        return Verdict(
            MISMATCH,
            reason,
            confirmations=confirmations,
            payer_address=payer.from_address,
            usdc_transfers=sent,
        )

    if not enough:
        return wallet_mismatch("underpaid", to_us[0])
    mined_at = datetime.fromtimestamp(block.timestamp, tz=UTC)
    if mined_at > deadline or mined_at < not_before:
        return wallet_mismatch("late", enough[0])
    paying = _paying_log(
        enough, usdc_micro, chain.decimals, mined_at, awaited_elsewhere
    )
    if paying is None:
        return wallet_mismatch("wrong_recipient", enough[0])

    value_micro = to_micro(paying.value, chain.decimals)
    evidence = {
        "block_number": block_number,
        "block_hash": block.hash,
        "log_index": paying.log_index,
        "token_address": paying.token_address,
        "value_micro": str(value_micro),
        "confirmations": confirmations,
        "payer_address": paying.from_address,
        "block_timestamp": block.timestamp,
    }
    return Verdict(
        VERIFIED,
        None,
        evidence=evidence,
        payer_address=paying.from_address,
        overpaid_micro=value_micro - usdc_micro,
        confirmations=confirmations,
    )


def _paying_log(
    enough: list[TransferLog],
    usdc_micro: int,
    decimals: int,
    mined_at: datetime,
    awaited_elsewhere: AwaitedElsewhere | None,
) -> TransferLog | None:
    """The log of ``enough`` (all ≥ the amount) that pays: exact first, else the
    first overpayment that is not exactly another request's awaited amount."""
    for log in enough:
        if to_micro(log.value, decimals) == usdc_micro:
            return log
    for log in enough:
        value = to_micro(log.value, decimals)
        if awaited_elsewhere is None or not awaited_elsewhere(value, mined_at):
            return log
    return None
