"""``eth_getLogs`` queries of a ``ChainClient``: USDC ``Transfer`` logs to wallets.

Split from ``rpc.py``, whose failover core (``_call``, ``head``) these
methods use: the chain watcher and the rescan read transfers through them
(D21, D36), in spans a node accepts and only as far as it is known to hold.
"""

from __future__ import annotations

from collections.abc import Iterable

from eth_utils import to_checksum_address

from .errors import RpcError
from .logs import (
    TRANSFER_TOPIC_HEX,
    TransferLog,
    address_topic,
    block_head,
    decode_transfer,
)

# eth_getLogs topic filters get long; keep each OR-list of recipients bounded.
MAX_ADDRESSES_PER_FILTER = 200


class TransferLogQueries:
    """``ChainClient``'s log queries (a mixin: it needs ``_call``, ``head``,
    ``_answered``, ``_endpoints`` and ``_log_span`` from the client)."""

    def transfer_logs(
        self, *, token: str, from_block: int, to_block: int, recipients: Iterable[str]
    ) -> list[TransferLog]:
        """``Transfer`` logs of ``token`` to any of ``recipients`` in a block range."""
        return self._transfer_logs(token, from_block, to_block, recipients, [])

    def transfer_logs_held(
        self, *, token: str, from_block: int, to_block: int, recipients: Iterable[str]
    ) -> tuple[list[TransferLog], int]:
        """``transfer_logs`` only as far as the answering node is known to hold.

        Returns the logs and ``held``: ``to_block``, or the lower block the
        node stops at (below ``from_block`` when it holds none of the range;
        logs above ``held`` are left out). eth_getLogs answers ``[]`` past the
        node's own head, so the node's latest block is read first and the logs
        only up to it: a node that showed block N before answering has covered
        N. A query answered by another endpoint (failover mid-range) is held
        to that endpoint's latest block, read after it.
        """
        held = min(to_block, self.head().number)
        first = self._answered
        answered: list[tuple[int, int, int]] = []  # (endpoint, from, to)
        logs = self._transfer_logs(token, from_block, held, recipients, answered)
        for other in {number for number, _, _ in answered} - {first}:
            top = self._call(
                "eth_getBlockByNumber",
                lambda w3: block_head(w3.eth.get_block("latest")).number,
                only=self._endpoints[other],
            )
            for number, start, end in answered:
                if number == other and end > top:
                    held = min(held, max(top, start - 1))
        return [t for t in logs if t.block_number <= held], held

    def _transfer_logs(
        self,
        token: str,
        from_block: int,
        to_block: int,
        recipients: Iterable[str],
        answered: list[tuple[int, int, int]],
    ) -> list[TransferLog]:
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
            raw = self._logs_in_range(params, from_block, to_block, answered)
            logs.extend(t for t in map(decode_transfer, raw) if t is not None)
        logs.sort(key=lambda t: (t.block_number, t.log_index))
        return logs

    def _logs_in_range(
        self, params: dict, from_block: int, to_block: int, answered: list
    ) -> list:
        """``eth_getLogs`` over the range, halving the span while nodes refuse it.

        Providers cap a query's block range or result count (some at 500 or
        even 10 blocks) and answer an error, not a partial list; a fixed span
        would stall the watcher on that chunk for good. The span that worked
        is kept for the rest of this client's queries. A node too slow for
        the span (a read timeout, no error at all) counts as refusing it:
        taken for a dead node, it failed the chunk, and the next run sent the
        same chunk again, for ever. A one-block query that still fails
        raises: that is not a range problem (at most log2(span) extra calls).
        Each answered query is noted in ``answered``.
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
                    self._call(
                        "eth_getLogs",
                        lambda w3, q=query: w3.eth.get_logs(q),
                        slow_is_error=True,
                    )
                )
            except RpcError:
                if span == 1:
                    raise
                span = (span + 1) // 2
                self._log_span = span
                continue
            answered.append((self._answered, start, end))
            start = end + 1
        return found
