"""A JSON-RPC client for one chain, with failover across its RPC URLs (D19).

``ChainClient(chain)`` tries the chain's ``rpc_urls`` in order. Before an
endpoint's first use it is probed once: it must answer ``eth_chainId`` with the
chain's id, and (except on ``local`` chains, D19) its head block must be at
most ``STALE_AFTER_SECONDS`` old, so a lagging node never turns "not yet seen"
into a verdict. An endpoint that is down, wrong or stale is skipped for the
rest of the client's life (a client lives for one task run or one API call).

Failures are ``RpcUnavailable`` (no endpoint could be used) and ``RpcError``
(an endpoint answered, but the call failed or the answer was malformed), from
``errors.py``. Every answer is shape-checked inside the call (``logs.py``), so
a malformed one fails over like an error, and nothing else escapes.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from web3 import Web3
from web3.exceptions import TransactionNotFound

from .errors import BAD_ANSWER, SLOW, UNREACHABLE, RpcError, RpcUnavailable
from .logs import BlockHead, block_head, check_receipt, uint
from .rpc_http import call_deadline, http_session
from .rpc_logs import TransferLogQueries

if TYPE_CHECKING:
    from payments.models import Chain

logger = logging.getLogger("jopay.chain")

T = TypeVar("T")

# D19: a head older than this is a lagging node (local chains are exempt).
STALE_AFTER_SECONDS = 60
DEFAULT_TIMEOUT_SECONDS = 5.0

__all__ = ["BlockHead", "ChainClient", "RpcError", "RpcUnavailable"]


@dataclass
class _Endpoint:
    url: str
    w3: Web3
    probed: bool = False
    usable: bool = False
    problem: str = ""


@dataclass
class ChainClient(TransferLogQueries):
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
    # Index of the endpoint that answered the last call.
    _answered: int = field(init=False, default=-1, repr=False)

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
            session=http_session(),
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

    @contextmanager
    def _bounded(self, endpoint: _Endpoint) -> Iterator[None]:
        """One HTTP call: connect and answer together within what is left.

        Of the budget, and at most ``timeout`` (``rpc_http``): a separate
        connect and read timeout let a node slow at both, or answering a few
        bytes at a time, hold a call far past it (D35: reverify in 10 s).
        """
        left = self._remaining()
        endpoint.w3.provider._request_kwargs = {"timeout": left}  # type: ignore[attr-defined]
        with call_deadline(left):
            yield

    def _probe(self, endpoint: _Endpoint) -> None:
        """Once per endpoint: right chain id, and a fresh head unless local (D19)."""
        endpoint.probed = True
        try:
            with self._bounded(endpoint):
                chain_id = endpoint.w3.eth.chain_id
            if chain_id != self.chain.chain_id:
                endpoint.problem = f"wrong chain id {chain_id}"
                return
            if not self.chain.is_local:
                # Only what is left of the budget after the first call: the
                # timeout set above, again, took a slow node's probe up to
                # twice past it (D35: reverify answers within 10 s).
                with self._bounded(endpoint):
                    head = block_head(endpoint.w3.eth.get_block("latest"))
                age = time.time() - head.timestamp
                if age > self.stale_after:
                    endpoint.problem = f"stale head ({int(age)} s old)"
                    return
        except (*UNREACHABLE, *BAD_ANSWER) as exc:
            # A head without a timestamp proves no freshness: as unusable as down.
            endpoint.problem = f"probe failed: {type(exc).__name__}"
            return
        endpoint.usable = True

    def _call(
        self,
        what: str,
        fn: Callable[[Web3], T],
        *,
        only: _Endpoint | None = None,
        slow_is_error: bool = False,
    ) -> T:
        """``fn`` on the first usable endpoint that answers (on ``only``, if given).

        ``slow_is_error``: a read timeout on every endpoint left is an error
        answer (``RpcError``, the endpoints stay usable), not "all dead": a
        wide ``eth_getLogs`` no node finishes in time is the query's fault,
        and the caller narrows it (``rpc_logs``). A slow endpoint another one
        answered for is skipped from then on, as without the flag.
        """
        rpc_failure: str | None = None
        slow: list[tuple[_Endpoint, int, Exception]] = []
        for endpoint in self._endpoints if only is None else [only]:
            number = self._endpoints.index(endpoint)
            if not endpoint.probed:
                self._probe(endpoint)
                if not endpoint.usable:
                    logger.warning(
                        "chain %s: skipping RPC #%d (%s)",
                        self.chain.chain_id,
                        number,
                        endpoint.problem,
                    )
            if not endpoint.usable:
                continue
            try:
                with self._bounded(endpoint):
                    result = fn(endpoint.w3)
            except SLOW as exc:
                if not slow_is_error:
                    self._unreachable(endpoint, number, what, exc)
                    continue
                rpc_failure = f"{what}: {type(exc).__name__} (no answer in time)"
                slow.append((endpoint, number, exc))
                continue
            except UNREACHABLE as exc:
                self._unreachable(endpoint, number, what, exc)
                continue
            except BAD_ANSWER as exc:
                # An error or a malformed answer: another node may still answer.
                rpc_failure = f"{what}: {type(exc).__name__}: {exc}"[:300]
                logger.warning(
                    "chain %s: RPC #%d error during %s: %s",
                    self.chain.chain_id,
                    number,
                    what,
                    rpc_failure,
                )
                continue
            for late, late_number, exc in slow:
                self._unreachable(late, late_number, what, exc)
            self.used_url = endpoint.url
            self._answered = number
            return result
        if rpc_failure is not None:
            for _, late_number, _ in slow:
                logger.warning(
                    "chain %s: RPC #%d gave no answer in time for %s",
                    self.chain.chain_id,
                    late_number,
                    what,
                )
            raise RpcError(rpc_failure)
        problems = "; ".join(e.problem for e in self._endpoints) or "no RPC URLs"
        raise RpcUnavailable(problems)

    def _unreachable(
        self, endpoint: _Endpoint, number: int, what: str, exc: Exception
    ) -> None:
        """Skip ``endpoint`` for the rest of the client's life."""
        endpoint.usable = False
        endpoint.problem = f"{what}: {type(exc).__name__}"
        logger.warning(
            "chain %s: RPC #%d unreachable during %s (%s)",
            self.chain.chain_id,
            number,
            what,
            type(exc).__name__,
        )

    def endpoint_problems(self) -> list[str]:
        """Probe every endpoint not probed yet; why each unusable one is, in order.

        For operators (``configure_chain``, the admin): calls stop at the
        first usable endpoint, so a fallback URL with a typo, or another
        network's, is otherwise found out only once the first one fails.
        Positions, never URLs (they may carry a provider's key).
        """
        for endpoint in self._endpoints:
            if not endpoint.probed:
                self._probe(endpoint)
        total = len(self._endpoints)
        return [
            f"RPC URL {number} of {total}: {endpoint.problem}"
            for number, endpoint in enumerate(self._endpoints, 1)
            if not endpoint.usable
        ]

    # -- calls -------------------------------------------------------------------
    def head(self) -> BlockHead:
        return self._call(
            "eth_getBlockByNumber", lambda w3: block_head(w3.eth.get_block("latest"))
        )

    def block_number(self) -> int:
        return self._call("eth_blockNumber", lambda w3: uint(w3.eth.block_number))

    def block(self, number: int) -> BlockHead:
        return self._call(
            "eth_getBlockByNumber", lambda w3: block_head(w3.eth.get_block(number))
        )

    def receipt(self, tx_hash: str) -> Any | None:
        """The transaction's receipt, or None while the node has not seen it mined."""

        def get(w3: Web3) -> Any | None:
            try:
                receipt = w3.eth.get_transaction_receipt(tx_hash)  # type: ignore[arg-type]
            except TransactionNotFound:
                return None
            check_receipt(receipt)
            return receipt

        return self._call("eth_getTransactionReceipt", get)
