"""Rescan one request's payment window for its payment (D16, D20, D21).

The chain watcher passes over a request whose proof is ``attached``: that
proof is being checked. When it then ends in ``mismatch`` (a wrong or random
hash pasted on the pay page, or the hash of a wallet "speed-up" whose
replacement is what got mined), the real payment may be in blocks the watcher
has long left behind. ``rescan_request_window`` reads the request's own window
once more, only for its wallet: from the first block at or after
``window_start(created_at)`` to the last one at or before ``expires_at`` +
grace (or the head), in bounded runs. A transfer of the exact amount that
``match_transfer`` gives to this request is attached as a ``trails_on_chain``
proof and verified in-process, exactly as the watcher would have done.
What is owed, and where the next run starts, is a ``RequestRescan`` row
(``payments.proofs.services.rescans``), so no lost message loses a rescan.

Safe to run twice: only a request whose proof is free (``none`` or
``mismatch``) is looked at, the hash that just mismatched is never attached to
it again, and a hash proving another request is refused by the partial unique
index (D20). Attach and its event are one transaction (``proof_attach``).
"""

from __future__ import annotations

import logging
import math
import time
import uuid
from dataclasses import dataclass

from celery.exceptions import SoftTimeLimitExceeded
from django.utils import timezone

from payments.models import Chain, PaymentRequest

from .defaults import reorg_margin
from .matching import (
    CANDIDATE_PROOF_STATUSES,
    CANDIDATE_STATUSES,
    attach_found,
    block_times,
    candidates,
    chain_modes,
    first_block_at_or_after,
    match_transfer,
)
from .rpc import ChainClient, RpcError, RpcUnavailable
from .verify import to_micro, window_start
from .watcher import CHUNK_BLOCKS

logger = logging.getLogger("jopay.chain.rescan")

PR = PaymentRequest
# One run reads at most this many blocks (a continuation task does the rest),
# so a long invoice window on a fast chain never hits the task's time limit.
RESCAN_MAX_BLOCKS = 50_000
# ... and reads for at most this long (seconds), then records where to carry
# on: behind a provider capping log ranges (10 blocks: 5 000 calls for those
# blocks) the task's soft time limit (280 s) ended a run before it recorded
# anything, so every run read the same blocks again until it was given up.
RESCAN_RUN_SECONDS = 200


@dataclass
class RescanResult:
    outcome: str  # skipped | held | verified | attached | not_found | continued
    chain_id: int
    from_block: int | None = None
    to_block: int | None = None
    next_from_block: int | None = None  # set when a continuation must read on
    tx_hash: str | None = None


def _start_block(
    client: ChainClient,
    chain: Chain,
    not_before: int,
    floor_block: int | None,
    head: int,
) -> int:
    """The first block to read: the window's start, or the floor if later.

    The watcher had read up to ``floor_block`` before the proof held the
    request, so the scan starts there, less its reorg margin (the watcher
    re-reads that much behind its own cursor). A floor inside the window costs
    one block read instead of the window's binary search.
    """
    if floor_block is not None:
        margin = reorg_margin(
            confirmations=chain.confirmations, is_local=chain.is_local
        )
        start = max(floor_block - margin, 0)
        if start <= head and client.block(start).timestamp >= not_before:
            return start
    return first_block_at_or_after(client, not_before, head=head)


def rescan_chains_for(request_id: uuid.UUID | str) -> list[int]:
    """Usable chains on which the request may still be found paid (D19); [] if none."""
    request = PR.objects.filter(
        pk=request_id,
        status__in=CANDIDATE_STATUSES,
        proof_status__in=CANDIDATE_PROOF_STATUSES,
    ).first()
    if request is None:
        return []
    return chain_ids_for(test_mode=request.test_mode)


def chain_ids_for(*, test_mode: bool) -> list[int]:
    """Usable chains a request of this mode may be paid on (D19)."""
    return [
        chain.chain_id
        for chain in Chain.objects.filter(enabled=True).order_by("chain_id")
        if chain.is_usable and chain.accepts(test_mode=test_mode)
    ]


def rescan_request_window(
    *,
    request_id: uuid.UUID | str,
    chain_id: int,
    from_block: int | None = None,
    to_block: int | None = None,
    floor_block: int | None = None,
    client: ChainClient | None = None,
    max_blocks: int = RESCAN_MAX_BLOCKS,
    chunk_blocks: int = CHUNK_BLOCKS,
) -> RescanResult:
    """Find and attach the request's payment in its window on one chain.

    Guarantees: reads at most ``max_blocks`` blocks, and starts no chunk
    after ``RESCAN_RUN_SECONDS`` (``next_from_block`` then says where to carry
    on, with the same ``to_block``); attaches only a
    transfer that ``match_transfer`` gives to this very request; verifies it
    at once (a node failing then leaves it ``attached`` for the re-check).
    Raises ``RpcUnavailable`` / ``RpcError`` when the chain cannot be read
    (also while it is disabled or has no RPC URL); nothing is written then.
    """
    from payments.proofs.services import proof_verify
    from payments.proofs.services.checks import next_check_enqueue, proof_verify_claim

    run_deadline = time.monotonic() + RESCAN_RUN_SECONDS
    result = RescanResult(outcome="skipped", chain_id=chain_id)
    chain = Chain.objects.filter(pk=chain_id).first()
    if chain is None:
        return result
    request = candidates(chain).filter(pk=request_id).first()
    if request is None:
        if _attached_again(request_id, chain):
            # Being checked: the blocks owed are still owed if that proof
            # ends in a mismatch too, so the row waits (``held``) instead of
            # being dropped (D16: a hash may be attached again at once).
            result.outcome = "held"
        return result  # paid, cancelled, or not this chain's mode
    if not chain.is_usable:
        # Disabled, or its RPC URLs being edited: the watcher will carry on
        # from its cursor once it is back, but not read what lies before it,
        # so the owed rescan waits (retried like an outage, given up only
        # after the usual runs without progress) instead of being dropped.
        # Only while the request still needs it: one paid (or cancelled)
        # meanwhile drops its row above, with no retries and no given-up error.
        raise RpcUnavailable(f"chain {chain_id} is disabled or has no RPC URL")
    client = client or ChainClient(chain)

    if from_block is None or to_block is None:
        head = client.head()
        not_before = math.ceil(window_start(request.created_at).timestamp())
        deadline = math.floor(request.proof_deadline.timestamp())
        from_block = _start_block(client, chain, not_before, floor_block, head.number)
        # At least as far as the watcher has read: it passed this request over
        # up to its cursor, and from a node ahead of this one (a failover, a
        # balancer) that may be past this head. Blocks this node does not hold
        # yet are read by a continuation (``transfer_logs_held``).
        to_block = max(head.number, chain.last_scanned_block or 0)
        if head.timestamp > deadline:
            to_block = first_block_at_or_after(client, deadline + 1, head=head.number)
            to_block -= 1
    result.from_block, result.to_block = from_block, to_block
    stop = min(to_block, from_block + max_blocks - 1)

    wanted = {(request.receiving_address, request.usdc_micro)}
    for chunk_start in range(from_block, stop + 1, chunk_blocks):
        if chunk_start > from_block and time.monotonic() > run_deadline:
            result.outcome, result.next_from_block = "continued", chunk_start
            return result
        chunk_end = min(chunk_start + chunk_blocks - 1, stop)
        try:
            # Only as far as the node answering holds (see the watcher): ``[]``
            # from a node behind the window's end must not read as "not found".
            found, held = client.transfer_logs_held(
                token=chain.usdc_address,
                from_block=chunk_start,
                to_block=chunk_end,
                recipients=[request.receiving_address],
            )
            logs = [
                log
                for log in found
                if (log.to_address, to_micro(log.value, chain.decimals)) in wanted
            ]
            times = block_times(client, chain, logs, wanted)
        except SoftTimeLimitExceeded:
            # A chunk started before the deadline may still outlast the
            # task's soft limit (a capped provider: 200 calls a chunk). The
            # chunks before it are read: recorded, a continuation reads on
            # (the hard limit leaves 20 s for that). Lost, every run read
            # the same blocks until the rescan was given up.
            if chunk_start == from_block:
                raise  # nothing read: nothing to record
            result.outcome, result.next_from_block = "continued", chunk_start
            return result
        for log in logs:
            mined_at = times.get(log.block_number)
            if log.removed or mined_at is None:
                continue
            match = match_transfer(chain, log, mined_at)
            if match is None or match.pk != request.pk:
                continue  # out of window, the hash just judged, or older request's
            if not attach_found(
                chain, log, request, mined_at=mined_at, now=timezone.now()
            ):
                if not Chain.objects.get(pk=chain.pk).is_usable:
                    # Switched off meanwhile: refused as unsupported_chain, so
                    # the row waits as it does for an outage (D19), not gone.
                    raise RpcUnavailable(f"chain {chain_id} was switched off")
                continue
            result.tx_hash = log.tx_hash
            result.outcome = "attached"
            logger.info(
                "rescan: chain %s tx %s attached to %s",
                chain.chain_id,
                log.tx_hash,
                request.pk,
            )
            # Claimed first, as the watcher does: one check of a proof at a time.
            claim = proof_verify_claim(
                request_id=request.pk, due_at=None, now=timezone.now()
            )
            if claim is None:
                return result  # the re-check beat took it meanwhile
            try:
                verified = proof_verify(
                    request_id=request.pk, client=client, claim=claim
                )
            except (RpcUnavailable, RpcError):
                return result  # stays attached; the re-check carries on (D20)
            if verified.outcome == "pending":
                next_check_enqueue(verified.request, verified.retry_in)
            result.outcome = verified.outcome
            return result
        if held < chunk_end:
            # Carry on from the first block the node has not shown, later.
            result.outcome, result.next_from_block = "continued", held + 1
            return result

    if stop < to_block:
        result.outcome, result.next_from_block = "continued", stop + 1
    elif _attached_again(request.pk, chain):
        # A proof attached while this run read (D16 allows it right after a
        # mismatch) made the loop above skip this request's payment: it no
        # longer matched, or ``attach_found`` refused it. "not_found" would
        # delete the row, and that proof's own mismatch would then owe a
        # rescan only from the watcher's cursor at its attach, past the
        # payment. Held, the row keeps its floor for that restart.
        result.outcome = "held"
    else:
        result.outcome = "not_found"
    return result


def _attached_again(request_id: uuid.UUID | str, chain: Chain) -> bool:
    """The request is still payable here, and a proof is attached (being checked)."""
    return PR.objects.filter(
        pk=request_id,
        status__in=CANDIDATE_STATUSES,
        proof_status=PR.ProofStatus.ATTACHED,
        test_mode__in=chain_modes(chain),
    ).exists()
