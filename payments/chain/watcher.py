"""The chain watcher (D21, D34, D36): find payments nobody announced.

Per usable chain, ``scan_chain`` reads the USDC contract's ``Transfer`` logs to
receiving addresses of requests that still accept a proof, from the cursor
(``Chain.last_scanned_block``) minus the reorg margin up to the head, in
chunks of at most ``CHUNK_BLOCKS``. A log whose exact value (in micro-USDC)
and recipient match such a request (D15 makes the match unique) is attached
with ``proof_source = trails_on_chain`` and then verified in-process, so
confirmations, lateness and the rest are judged exactly as for a hash a payer
pasted (D20).

A log is never applied twice: a request that is attached or verified is no
longer a candidate, a hash already judged for a request is not attached to it
again, and the partial unique index refuses a hash proving a second request.
The cursor moves once the attaches of its chunk committed (each in its own
transaction), so a crash re-reads at most one chunk, harmlessly.

The payment window is judged by the block time of the transfer, never by the
time of the scan (D20: never mismatch because the node was down): a transfer
can pay a request created at most ``CREATED_AT_SKEW`` after it was mined
(D15/D20: never an earlier, unrelated payment) and whose ``expires_at`` +
grace is not before it, including an ``expired`` request, which D16 lets go to
``paid``. So a catch-up after an outage longer than the grace still pays the
requests that were paid on time.

The cursor never moves past the last block the node answering the logs is
known to hold (D19, D36). ``eth_getLogs`` answers ``[]`` for a range past the
answering node's own head (anvil and many providers do), and nodes disagree
on the head: after a failover between URLs, or behind one load-balanced URL.
D19 lets a node be 60 s behind, hundreds of blocks on a fast chain and far
beyond the reorg margin, so scanning to another node's head would lose those
blocks for good. So ``ChainClient.transfer_logs_held`` reads the answering
endpoint's latest block before each chunk's logs (one cheap call per chunk)
and queries only up to it: a node that has shown block N covers N in its
next answer. A query that failed over to another endpoint is held to that
endpoint's latest block, read right after it. When the node stops short of
the chunk, the cursor stops there and the next run carries on; the reorg
margin (D36) is unchanged. Limits: in that failover case, blocks the node
imports between answering and the check are covered only by the margin's
re-read; behind a balancer that routes each HTTP request to any backend, the
check and the logs can meet different backends, which no separate call can
detect (an L4 balancer keeps web3's keep-alive connection on one backend).
"""

from __future__ import annotations

import logging
import math
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from time import monotonic

from django.core.cache import cache
from django.utils import timezone

from payments.models import Chain, PaymentRequest

from .defaults import reorg_margin
from .matching import (
    apply_chunk,
    block_time,
    block_times,
    first_block_at_or_after,
    watched,
)
from .rpc import ChainClient, RpcError, RpcUnavailable

logger = logging.getLogger("jopay.chain.watcher")

PR = PaymentRequest
# D21: eth_getLogs ranges stay within what public RPCs accept.
CHUNK_BLOCKS = 2000
# One run reads at most this many blocks; the next run carries on.
MAX_BLOCKS_PER_RUN = 50_000
# Outlives the task's hard time limit (300 s), so a scan still running is never
# joined by the next tick's; a killed worker's lock runs out on its own.
LOCK_SECONDS = 330
# A run starts no chunk after this long (the task's soft limit is 280 s): a
# chunk behind a provider capping log ranges is ~200 calls, and a run cut by
# the soft limit raised in every run of a catch-up, the chunk in hand read for
# nothing and the chains after it in the run not scanned at all. Shared out
# between the chains of a run, so one chain's catch-up leaves the others theirs.
WATCH_RUN_SECONDS = 200


@dataclass
class ScanResult:
    chain_id: int
    from_block: int | None = None
    to_block: int | None = None
    blocks: int = 0
    logs: int = 0
    chunks: int = 0
    attached: list[str] = field(default_factory=list)
    verified: list[str] = field(default_factory=list)
    skipped: str | None = None


def scan_chain(
    chain: Chain,
    *,
    client: ChainClient | None = None,
    now: datetime | None = None,
    max_blocks: int = MAX_BLOCKS_PER_RUN,
    chunk_blocks: int = CHUNK_BLOCKS,
    deadline: float | None = None,
) -> ScanResult:
    """Scan one chain from its cursor to the head; attach and verify matches.

    Guarantees: the first scan of a chain without a cursor starts at the head
    minus the reorg margin, never at genesis (D34); the cursor only moves
    forward, never past a block the node answering the logs holds (module
    docstring), and is saved with its chunk's attaches; a second run over the
    same blocks changes nothing. Raises ``RpcUnavailable`` / ``RpcError`` when the
    chain cannot be read (the cursor then stays where the last chunk left it).
    Past ``deadline`` (``time.monotonic()``) no further chunk starts; the first
    always does, so every run moves on.
    """
    from payments.proofs.services import proof_verify
    from payments.proofs.services.checks import next_check_enqueue, proof_verify_claim

    result = ScanResult(chain_id=chain.chain_id)
    if not chain.is_usable:
        result.skipped = "not configured"
        return result
    client = client or ChainClient(chain)
    # A block the node has shown, not eth_blockNumber: behind a balancer that
    # may be another backend's claim, and ``start`` must exist (``since``).
    head = client.head().number
    margin = reorg_margin(confirmations=chain.confirmations, is_local=chain.is_local)
    if chain.last_scanned_block is not None and chain.last_scanned_block > head:
        # The node is behind our cursor: a restarted dev chain, or a node
        # re-synced onto a shorter fork. Start again like a new chain (D34),
        # at this head less the margin, and write that place down now: a
        # cursor written off (None) until a chunk landed made the next run,
        # after this one failed, start at *its* head, past the blocks mined
        # in between (a payment there was never found).
        restart = max(head - 1, 0)  # read on from head - margin, as a new chain
        logger.warning(
            "watcher: chain %s head %s is behind the cursor %s; restarting at the head",
            chain.chain_id,
            head,
            chain.last_scanned_block,
        )
        Chain.objects.filter(
            pk=chain.pk, last_scanned_block=chain.last_scanned_block
        ).update(last_scanned_block=restart, watch_from=None)
        chain.last_scanned_block, chain.watch_from = restart, None
    if chain.last_scanned_block is None:
        start = max(head - margin, 0)
        if chain.watch_from is not None:
            # Configured while no RPC answered: from the block of that time.
            since_configured = first_block_at_or_after(
                client, math.floor(chain.watch_from.timestamp()), head=head
            )
            start = max(min(start, since_configured - margin), 0)
    else:
        start = max(chain.last_scanned_block + 1 - margin, 0)
    end = min(head, start + max_blocks - 1)
    if start > end:
        result.skipped = "up to date"
        return result
    result.from_block, result.to_block = start, end
    result.blocks = end - start + 1
    fixed_now = now  # tests pin the clock; otherwise each chunk reads it afresh
    # D20: which requests are still payable is judged by block time, from the
    # first block read (after an outage it may be long before ``now``).
    since = block_time(client, start)

    for chunk_start in range(start, end + 1, chunk_blocks):
        if result.chunks and deadline is not None and monotonic() >= deadline:
            # Out of time: the cursor holds the last chunk; the next run goes on.
            result.to_block = chunk_start - 1
            result.blocks = chunk_start - start
            break
        chunk_end = min(chunk_start + chunk_blocks - 1, end)
        result.chunks += 1
        # Re-read per chunk: a long catch-up sees requests created meanwhile.
        wanted = watched(chain, since=since)
        # Even with nothing watched: a request created next minute can be paid
        # in a block past this node's head, so the cursor must not pass it.
        logs, held = client.transfer_logs_held(
            token=chain.usdc_address,
            from_block=chunk_start,
            to_block=chunk_end,
            recipients={address for address, _ in wanted},
        )
        result.logs += len(logs)
        times = block_times(client, chain, logs, wanted)
        # A long catch-up takes minutes: each chunk stamps its own time.
        chunk_now = fixed_now or timezone.now()
        attached = apply_chunk(chain, logs, held=held, times=times, now=chunk_now)
        if attached is None:  # switched off mid-scan: the cursor stays (D19)
            result.skipped, result.to_block = "switched off", chunk_start - 1
            break
        result.attached.extend(attached)
        for request_id in attached:
            # Verify now, outside the chunk's transaction; if the node fails
            # here the proof stays attached and the re-check task carries on.
            # Claimed first: in a scan past the beat's slack the re-check may
            # have taken this proof already, and one check at a time is enough.
            claim = proof_verify_claim(
                request_id=request_id, due_at=None, now=fixed_now or timezone.now()
            )
            if claim is None:
                continue
            try:
                outcome = proof_verify(
                    request_id=request_id, client=client, claim=claim
                )
            except (RpcUnavailable, RpcError):
                continue
            if outcome.outcome == "verified":
                result.verified.append(request_id)
            elif outcome.outcome == "pending":
                # Not final yet (confirmations, D20): the next check at its
                # pace, not the beat's safety net 15-45 s later.
                next_check_enqueue(outcome.request, outcome.retry_in)
        if held < chunk_end:
            logger.warning(
                "watcher: chain %s: the node answering holds blocks up to %s, "
                "not %s; the rest waits for the next run",
                chain.chain_id,
                held,
                chunk_end,
            )
            result.to_block = held
            result.blocks = max(held - start + 1, 0)
            break
    return result


def watch_chains(*, now: datetime | None = None) -> list[ScanResult]:
    """Scan every usable chain once; one chain's trouble never stops the others.

    A per-chain lock in the shared cache keeps two overlapping runs (a slow
    scan and the next beat tick) off the same chain.
    """
    results: list[ScanResult] = []
    chains = Chain.objects.filter(enabled=True).order_by("chain_id")
    chains = [chain for chain in chains if chain.is_usable]
    run_ends = monotonic() + WATCH_RUN_SECONDS
    for left, chain in zip(range(len(chains), 0, -1), chains, strict=True):
        # Its share of the time left; what it leaves, the chains after it get.
        started = monotonic()
        deadline = started + (run_ends - started) / left
        lock = f"jopay:watch_chain:{chain.chain_id}"
        token = uuid.uuid4().hex
        if not cache.add(lock, token, timeout=LOCK_SECONDS):
            results.append(ScanResult(chain_id=chain.chain_id, skipped="locked"))
            continue
        try:
            results.append(scan_chain(chain, now=now, deadline=deadline))
        except (RpcUnavailable, RpcError) as exc:
            logger.warning(
                "watcher: chain %s unreadable: %s (%s)",
                chain.chain_id,
                exc.code,
                exc.detail,
            )
            results.append(ScanResult(chain_id=chain.chain_id, skipped=str(exc.code)))
        finally:
            # Only our own lock: one that ran out and was taken by another
            # scan must not be released by this one.
            if cache.get(lock) == token:
                cache.delete(lock)
    return results
