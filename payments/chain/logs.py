"""Reading node answers: ``Transfer`` logs, receipts and block heads (D20, D21).

The filter topics and an ABI-free ``Transfer`` decoder, plus shape checks for
the other answers the chain code reads. A node can answer anything: a log
without ``address`` or ``topics``, garbage hex, a block without a timestamp.
Such an answer is node trouble, never a verdict (D20): ``decode_transfer``
raises ``RpcError`` for it, and the checks used inside ``ChainClient`` calls
raise ``KeyError`` / ``TypeError`` / ``ValueError``, which the client turns
into a failover to the next endpoint, then ``RpcError`` (or, in the endpoint
probe, ``RpcUnavailable``). Never a bare ``KeyError`` out of this package.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from eth_utils import to_checksum_address
from hexbytes import HexBytes
from web3 import Web3

from .errors import RpcError

TRANSFER_TOPIC = HexBytes(Web3.keccak(text="Transfer(address,address,uint256)"))
TRANSFER_TOPIC_HEX = "0x" + TRANSFER_TOPIC.hex().removeprefix("0x")


@dataclass(frozen=True)
class TransferLog:
    """One ERC-20 ``Transfer`` log, decoded without an ABI."""

    token_address: str  # EIP-55
    from_address: str  # EIP-55
    to_address: str  # EIP-55
    value: int  # raw token units (scale with the chain's decimals)
    tx_hash: str  # 0x + 64 lower-case hex
    block_number: int
    block_hash: str
    log_index: int
    removed: bool = False


@dataclass(frozen=True)
class BlockHead:
    number: int
    hash: str
    timestamp: int


def decode_transfer(log: Any) -> TransferLog | None:
    """A ``Transfer(address indexed, address indexed, uint256)`` log, else None.

    Any well-formed log that is not such a transfer (another event, an ERC-721
    ``Transfer`` with four topics) is None. Raises ``RpcError`` for a malformed
    log: not a mapping, a missing ``address``, ``topics``, ``data``,
    ``blockNumber`` or ``logIndex`` (and, for a transfer, hashes), or values
    that are not hex of the right size.
    """
    try:
        return _decode(log)
    except (LookupError, TypeError, ValueError, AttributeError) as exc:
        raise RpcError(f"malformed log: {type(exc).__name__}: {exc}"[:300]) from exc


def _decode(log: Any) -> TransferLog | None:
    if not isinstance(log, Mapping):
        raise TypeError(f"a log is a mapping, not {type(log).__name__}")
    topics = log["topics"]
    if not isinstance(topics, list | tuple):
        raise TypeError(f"topics is a list, not {type(topics).__name__}")
    words = [hex_bytes(t, size=32) for t in topics]
    token = to_checksum_address(hex_bytes(log["address"], size=20))
    data = hex_bytes(log["data"])
    block_number = uint(log["blockNumber"])
    log_index = uint(log["logIndex"])
    if len(words) != 3 or words[0] != TRANSFER_TOPIC or len(data) != 32:
        return None
    return TransferLog(
        token_address=token,
        from_address=to_checksum_address(words[1][-20:]),
        to_address=to_checksum_address(words[2][-20:]),
        value=int.from_bytes(data, "big"),
        tx_hash=hex_text(hex_bytes(log["transactionHash"], size=32)),
        block_number=block_number,
        block_hash=hex_text(hex_bytes(log["blockHash"], size=32)),
        log_index=log_index,
        removed=bool(log.get("removed", False)),
    )


def check_receipt(receipt: Any) -> None:
    """Raise unless a mined receipt has what D20 reads: status, logs, block.

    A receipt not yet mined (``blockNumber`` null) needs nothing more. Raises
    ``KeyError`` / ``TypeError`` / ``ValueError`` (a ``ChainClient`` call then
    fails over); every log must decode (``RpcError`` is re-raised as
    ``ValueError`` for that reason).
    """
    if not isinstance(receipt, Mapping):
        raise TypeError(f"a receipt is a mapping, not {type(receipt).__name__}")
    if receipt.get("blockNumber") is None:
        return
    uint(receipt["blockNumber"])
    uint(receipt["status"])
    logs = receipt["logs"]
    if not isinstance(logs, list | tuple):
        raise TypeError(f"logs is a list, not {type(logs).__name__}")
    for log in logs:
        try:
            decode_transfer(log)
        except RpcError as exc:
            raise ValueError(exc.detail) from exc


# 9999-12-31T23:59:59Z: the last block time the verifier and the watcher can
# turn into a datetime (D20 compares it with expires_at + grace).
MAX_BLOCK_TIMESTAMP = 253_402_300_799


def block_head(block: Any) -> BlockHead:
    """A block's number, hash and time; ``KeyError`` / ``TypeError`` / ``ValueError``
    when the node left any out or sent garbage (a time past 9999 included)."""
    if not isinstance(block, Mapping):
        raise TypeError(f"a block is a mapping, not {type(block).__name__}")
    timestamp = uint(block["timestamp"])
    if timestamp > MAX_BLOCK_TIMESTAMP:
        # datetime.fromtimestamp raised OverflowError / ValueError for it in the
        # verifier and the watcher: a 500 api_error, not node trouble.
        raise ValueError(f"not a block time: {timestamp}")
    return BlockHead(
        number=uint(block["number"]),
        hash=hex_text(hex_bytes(block["hash"], size=32)),
        timestamp=timestamp,
    )


def uint(value: Any) -> int:
    """A JSON-RPC quantity (an int, or 0x-hex as raw answers carry it) as an int ≥ 0."""
    if isinstance(value, str) and value.startswith("0x"):
        value = int(value, 16)
    if not isinstance(value, int) or isinstance(value, bool) or value < 0:
        raise ValueError(f"not a quantity: {value!r:.40}")
    return value


def hex_bytes(value: Any, *, size: int | None = None) -> bytes:
    """Bytes, or 0x-hex text, as bytes (of exactly ``size`` when given)."""
    if isinstance(value, str) and value.startswith("0x"):
        raw = bytes.fromhex(value[2:])
    elif isinstance(value, bytes | bytearray):
        raw = bytes(value)
    else:
        raise ValueError(f"not hex data: {value!r:.40}")
    if size is not None and len(raw) != size:
        raise ValueError(f"{len(raw)} bytes where {size} belong")
    return raw


def hex_text(value: Any) -> str:
    """A hash or bytes value as 0x + lower-case hex ("" for None)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.lower() if value.startswith("0x") else "0x" + value.lower()
    return "0x" + bytes(value).hex()


def address_topic(address: str) -> str:
    """An address as a 32-byte topic (left-padded), for eth_getLogs filters."""
    return "0x" + "0" * 24 + address.lower().removeprefix("0x")
