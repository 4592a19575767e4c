"""A JSON-RPC client for one chain, with failover across its RPC URLs (D19).

``ChainClient(chain)`` tries the chain's ``rpc_urls`` in order. Before an
endpoint's first use it is probed once: it must answer ``eth_chainId`` with the
chain's id, and (except on ``local`` chains, D19) its head block must be at
most ``STALE_AFTER_SECONDS`` old, so a lagging node never turns "not yet seen"
into a verdict. An endpoint that is down, wrong or stale is skipped for the
rest of the client's life (a client lives for one task run or one API call).

Failures are two exceptions, both ``JoPayError`` so an API view that needs the
chain synchronously renders them as the registry says:

* ``RpcUnavailable`` (503 ``rpc_unavailable``): no endpoint could be used.
* ``RpcError`` (500 ``rpc_error``): an endpoint answered, but the call failed.

Their messages never carry RPC URLs (they may embed provider API keys); the
detail is logged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import requests
from eth_utils import to_checksum_address
from web3 import Web3
from web3.exceptions import (
    BadResponseFormat,
    ProviderConnectionError,
    RequestTimedOut,
    TooManyRequests,
    TransactionNotFound,
    Web3Exception,
)

from jopay_project.errors import ErrorCode, JoPayError

from .logs import (
    TRANSFER_TOPIC_HEX,
    TransferLog,
    address_topic,
    decode_transfer,
    hex_text,
)

if TYPE_CHECKING:
    from payments.models import Chain

logger = logging.getLogger("jopay.chain")

T = TypeVar("T")

# D19: a head older than this is a lagging node (local chains are exempt).
STALE_AFTER_SECONDS = 60
DEFAULT_TIMEOUT_SECONDS = 5.0
# eth_getLogs topic filters get long; keep each OR-list of recipients bounded.
MAX_ADDRESSES_PER_FILTER = 200

# The endpoint itself is unusable (down, timing out, rate limiting us): fail over.
_UNREACHABLE = (
    requests.exceptions.RequestException,
    ProviderConnectionError,
    RequestTimedOut,
    TooManyRequests,
    BadResponseFormat,
    ConnectionError,
    TimeoutError,
)


class RpcUnavailable(JoPayError):  # noqa: N818 (names from the brief / registry)
    """No RPC endpoint of the chain is reachable, fresh and on the right chain."""

    code = ErrorCode.RPC_UNAVAILABLE

    def __init__(self, detail: str = "") -> None:
        super().__init__()
        self.detail = detail


class RpcError(JoPayError):
    """An endpoint answered, but the call failed (a JSON-RPC error, bad data)."""

    code = ErrorCode.RPC_ERROR

    def __init__(self, detail: str = "") -> None:
        super().__init__()
        self.detail = detail


@dataclass(frozen=True)
class BlockHead:
    number: int
    hash: str
    timestamp: int


@dataclass
class _Endpoint:
    url: str
    w3: Web3
    probed: bool = False
    usable: bool = False
    problem: str = ""


@dataclass
class ChainClient:
    """RPC calls for one chain, failing over across its URLs (module docstring).

    ``budget`` (seconds) bounds the whole client's life: once spent, calls
    raise ``RpcUnavailable`` instead of waiting (the reverify API has 10 s).
    """

    chain: Chain
    timeout: float = DEFAULT_TIMEOUT_SECONDS
    budget: float | None = None
    stale_after: int = STALE_AFTER_SECONDS
    _endpoints: list[_Endpoint] = field(init=False, repr=False)
    _deadline: float | None = field(init=False, repr=False)
    used_url: str | None = field(init=False, default=None)
    # The widest eth_getLogs span the node accepted after refusing a wider one.
    _log_span: int | None = field(init=False, default=None, repr=False)

    def __post_init__(self) -> None:
        urls = [u for u in (self.chain.rpc_urls or []) if isinstance(u, str) and u]
        self._endpoints = [_Endpoint(url=u, w3=self._make_web3(u)) for u in urls]
        self._deadline = time.monotonic() + self.budget if self.budget else None

    def _make_web3(self, url: str) -> Web3:
        # web3's own retries (5 tries with backoff) would hide a dead node for
        # seconds; failing over to the next URL is our retry.
        provider = Web3.HTTPProvider(
            url,
            request_kwargs={"timeout": self.timeout},
            exception_retry_configuration=None,
        )
        return Web3(provider)

    # -- the failover core -----------------------------------------------------
    def _remaining(self) -> float:
        if self._deadline is None:
            return self.timeout
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise RpcUnavailable("time budget spent")
        return min(self.timeout, left)

    def _set_timeout(self, endpoint: _Endpoint) -> None:
        if self._deadline is None:
            return
        # Each HTTP call may use only what is left of the budget.
        endpoint.w3.provider._request_kwargs = {"timeout": self._remaining()}  # type: ignore[attr-defined]

    def _probe(self, endpoint: _Endpoint) -> None:
        """Once per endpoint: right chain id, and a fresh head unless local (D19)."""
        endpoint.probed = True
        self._set_timeout(endpoint)
        try:
            chain_id = endpoint.w3.eth.chain_id
            if chain_id != self.chain.chain_id:
                endpoint.problem = f"wrong chain id {chain_id}"
                return
            if not self.chain.is_local:
                head = endpoint.w3.eth.get_block("latest")
                age = time.time() - int(head["timestamp"])
                if age > self.stale_after:
                    endpoint.problem = f"stale head ({int(age)} s old)"
                    return
        except (*_UNREACHABLE, Web3Exception, ValueError) as exc:
            endpoint.problem = f"probe failed: {type(exc).__name__}"
            return
        endpoint.usable = True

    def _call(self, what: str, fn: Callable[[Web3], T]) -> T:
        rpc_failure: str | None = None
        for endpoint in self._endpoints:
            if not endpoint.probed:
                self._probe(endpoint)
                if not endpoint.usable:
                    logger.warning(
                        "chain %s: skipping RPC #%d (%s)",
                        self.chain.chain_id,
                        self._endpoints.index(endpoint),
                        endpoint.problem,
                    )
            if not endpoint.usable:
                continue
            self._set_timeout(endpoint)
            try:
                result = fn(endpoint.w3)
            except _UNREACHABLE as exc:
                endpoint.usable = False
                endpoint.problem = f"{what}: {type(exc).__name__}"
                logger.warning(
                    "chain %s: RPC #%d unreachable during %s (%s)",
                    self.chain.chain_id,
                    self._endpoints.index(endpoint),
                    what,
                    type(exc).__name__,
                )
                continue
            except (Web3Exception, ValueError, KeyError, TypeError) as exc:
                # The node answered with an error: another node may still answer.
                rpc_failure = f"{what}: {type(exc).__name__}: {exc}"[:300]
                logger.warning(
                    "chain %s: RPC #%d error during %s: %s",
                    self.chain.chain_id,
                    self._endpoints.index(endpoint),
                    what,
                    rpc_failure,
                )
                continue
            self.used_url = endpoint.url
            return result
        if rpc_failure is not None:
            raise RpcError(rpc_failure)
        problems = "; ".join(e.problem for e in self._endpoints) or "no RPC URLs"
        raise RpcUnavailable(problems)

    # -- calls -------------------------------------------------------------------
    def head(self) -> BlockHead:
        block = self._call(
            "eth_getBlockByNumber", lambda w3: w3.eth.get_block("latest")
        )
        return BlockHead(
            number=int(block["number"]),
            hash=hex_text(block["hash"]),
            timestamp=int(block["timestamp"]),
        )

    def block_number(self) -> int:
        return int(self._call("eth_blockNumber", lambda w3: w3.eth.block_number))

    def block(self, number: int) -> BlockHead:
        block = self._call("eth_getBlockByNumber", lambda w3: w3.eth.get_block(number))
        return BlockHead(
            number=int(block["number"]),
            hash=hex_text(block["hash"]),
            timestamp=int(block["timestamp"]),
        )

    def receipt(self, tx_hash: str) -> Any | None:
        """The transaction's receipt, or None while the node has not seen it mined."""

        def get(w3: Web3) -> Any | None:
            try:
                return w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
            except TransactionNotFound:
                return None

        return self._call("eth_getTransactionReceipt", get)

    def transfer_logs(
        self, *, token: str, from_block: int, to_block: int, recipients: Iterable[str]
    ) -> list[TransferLog]:
        """``Transfer`` logs of ``token`` to any of ``recipients`` in a block range."""
        wanted = sorted({address_topic(a) for a in recipients})
        logs: list[TransferLog] = []
        for i in range(0, len(wanted), MAX_ADDRESSES_PER_FILTER):
            params = {
                "address": to_checksum_address(token),
                "topics": [
                    TRANSFER_TOPIC_HEX,
                    None,
                    wanted[i : i + MAX_ADDRESSES_PER_FILTER],
                ],
            }
            raw = self._logs_in_range(params, from_block, to_block)
            logs.extend(t for t in map(decode_transfer, raw) if t is not None)
        logs.sort(key=lambda t: (t.block_number, t.log_index))
        return logs

    def _logs_in_range(self, params: dict, from_block: int, to_block: int) -> list:
        """``eth_getLogs`` over the range, halving the span while nodes refuse it.

        Providers cap a query's block range or result count (some at 500 or
        even 10 blocks) and answer an error, not a partial list; a fixed span
        would stall the watcher on that chunk for good. The span that worked
        is kept for the rest of this client's queries. A one-block query that
        still fails raises: that is not a range problem (at most log2(span)
        extra calls).
        """
        found: list = []
        start = from_block
        whole = to_block - from_block + 1
        # ``or whole``, not ``or to_block``: a range ending at block 0 made the
        # span 0, and the loop never advanced.
        span = max(min(whole, self._log_span or whole), 1)
        while start <= to_block:
            end = min(start + span - 1, to_block)
            query = {**params, "fromBlock": start, "toBlock": end}
            try:
                found.extend(
                    self._call("eth_getLogs", lambda w3, q=query: w3.eth.get_logs(q))
                )
            except RpcError:
                if span == 1:
                    raise
                span = (span + 1) // 2
                self._log_span = span
                continue
            start = end + 1
        return found
