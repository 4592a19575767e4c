"""ERC-20 ``Transfer`` logs: the filter topics and an ABI-free decoder (D20, D21)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eth_utils import to_checksum_address
from hexbytes import HexBytes
from web3 import Web3

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


def decode_transfer(log: Any) -> TransferLog | None:
    """A ``Transfer(address indexed, address indexed, uint256)`` log, else None."""
    topics = [HexBytes(t) for t in (log.get("topics") or [])]
    if len(topics) != 3 or topics[0] != TRANSFER_TOPIC:
        return None
    data = HexBytes(log.get("data") or b"")
    if len(data) != 32:
        return None
    return TransferLog(
        token_address=to_checksum_address(log["address"]),
        from_address=to_checksum_address(topics[1][-20:]),
        to_address=to_checksum_address(topics[2][-20:]),
        value=int.from_bytes(data, "big"),
        tx_hash=hex_text(log.get("transactionHash")),
        block_number=int(log["blockNumber"]),
        block_hash=hex_text(log.get("blockHash")),
        log_index=int(log["logIndex"]),
        removed=bool(log.get("removed", False)),
    )


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
