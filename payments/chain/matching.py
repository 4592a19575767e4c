"""Which request does a ``Transfer`` log pay? Shared by the watcher and the rescan.

A log pays a request when its token is the chain's USDC, its recipient the
request's ``receiving_address`` and its value exactly ``usdc_micro`` (D15 makes
that unique), and when it was mined inside the request's payment window judged
by **block time** (D20): not more than ``CREATED_AT_SKEW`` before the request
was created (an earlier, unrelated transfer never pays it) and not after
``expires_at`` + grace. The wall clock of the scan plays no part, so a
catch-up after an outage still pays what was paid on time (D16: also an
``expired`` request).

Only requests whose proof is free (``none``, or ended in ``mismatch``) are
candidates; an ``attached`` proof is being checked and a ``verified`` one paid.
``apply_chunk`` attaches a watcher chunk's matches and moves its cursor.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, datetime

from django.db import transaction
from django.db.models import Q

from jopay_project.errors import JoPayError
from payments.models import Chain, PaymentRequest
from payments.models.requests import PROOF_GRACE

from .logs import TransferLog
from .rpc import ChainClient
from .verify import CREATED_AT_SKEW, to_micro

logger = logging.getLogger("jopay.chain.watcher")

PR = PaymentRequest
CANDIDATE_STATUSES = (PR.Status.REQUESTED, PR.Status.OPENED, PR.Status.EXPIRED)
CANDIDATE_PROOF_STATUSES = (PR.ProofStatus.NONE, PR.ProofStatus.MISMATCH)


def chain_modes(chain: Chain) -> list[bool]:
    """D19: test-mode requests on testnets/local chains, live ones on mainnets."""
    return [mode for mode in (False, True) if chain.accepts(test_mode=mode)]


def candidates(chain: Chain):
    """Requests this chain may pay whose proof is free (none, or ended in mismatch)."""
    return PR.objects.filter(
        status__in=CANDIDATE_STATUSES,
        proof_status__in=CANDIDATE_PROOF_STATUSES,
        test_mode__in=chain_modes(chain),
    )


def in_window(mined_at: datetime) -> Q:
    """Requests whose payment window holds a block mined at ``mined_at`` (D20).

    Created no later than ``CREATED_AT_SKEW`` after the block (a transfer from
    before the request existed never pays it) and with ``expires_at`` + grace
    not before the block, whatever the wall clock says now.
    """
    return Q(
        created_at__lte=mined_at + CREATED_AT_SKEW,
        expires_at__gte=mined_at - PROOF_GRACE,
    )


def payable_at(chain: Chain, mined_at: datetime):
    """Candidates a transfer mined at ``mined_at`` (its block time) can pay (D20)."""
    return candidates(chain).filter(in_window(mined_at))


def watched(chain: Chain, *, since: datetime) -> set[tuple[str, int]]:
    """(address, usdc_micro) of candidates a block at ``since`` or later can pay."""
    return set(
        candidates(chain)
        .filter(expires_at__gte=since - PROOF_GRACE)
        # Into a set: no ORDER BY (the model's ordering sorted ~4 000 rows
        # per chain every 15 s for nothing).
        .order_by()
        .values_list("receiving_address", "usdc_micro")
    )


def block_time(client: ChainClient, number: int) -> datetime:
    return datetime.fromtimestamp(client.block(number).timestamp, tz=UTC)


def first_block_at_or_after(client: ChainClient, timestamp: int, *, head: int) -> int:
    """The lowest block whose timestamp is ≥ ``timestamp``; ``head + 1`` if none.

    A binary search over block timestamps (which never decrease): about
    log2(head) ``eth_getBlockByNumber`` calls.
    """
    low, high = 0, head + 1
    while low < high:
        middle = (low + high) // 2
        if client.block(middle).timestamp >= timestamp:
            high = middle
        else:
            low = middle + 1
    return low


def block_times(
    client: ChainClient, chain: Chain, logs: Iterable[TransferLog], wanted: set
) -> dict[int, datetime]:
    """Block time of every block holding a log that could match (RPC; no transaction).

    Only logs whose (recipient, exact amount) some candidate has are looked at,
    so a busy wallet's unrelated transfers cost no extra call.
    """
    numbers = {
        log.block_number
        for log in logs
        if not log.removed
        and (log.to_address, to_micro(log.value, chain.decimals)) in wanted
    }
    return {n: block_time(client, n) for n in sorted(numbers)}


def match_transfer(
    chain: Chain, log: TransferLog, mined_at: datetime
) -> PaymentRequest | None:
    """The request ``log`` pays, if any: exact amount and recipient (D15), in window.

    The oldest such request wins; a request for which this very transfer was
    already judged is passed over. A ``not_found_after_timeout`` on the same
    hash judged nothing: the transaction had no receipt then (stuck in the
    mempool, or dropped and sent again with the same nonce and fee bump
    ignored), so once it is mined in the window it pays the request (D20).
    """
    value_micro = to_micro(log.value, chain.decimals)
    for request in (
        payable_at(chain, mined_at)
        .filter(receiving_address=log.to_address, usdc_micro=value_micro)
        .order_by("created_at", "id")
    ):
        if already_judged(request, chain_id=chain.chain_id, tx_hash=log.tx_hash):
            continue  # this very transfer was already judged for this request
        return request
    return None


def already_judged(request: PaymentRequest, *, chain_id: int, tx_hash: str) -> bool:
    """Was this very transaction already judged for ``request``? (D20, D21)

    The watcher never attaches it to that request again. The rows above are
    read unlocked, so ``proof_attach`` asks again under the row lock: a payer
    may paste the same hash, and it be judged, between the two.
    """
    return (
        request.chain_id == chain_id
        and request.tx_hash == tx_hash
        and request.mismatch_reason != PR.MismatchReason.NOT_FOUND_AFTER_TIMEOUT
    )


def attach_found(
    chain: Chain,
    log: TransferLog,
    request: PaymentRequest,
    *,
    mined_at: datetime,
    now: datetime,
) -> bool:
    """Attach a found transfer as the request's ``trails_on_chain`` proof (D21).

    The D16 window is judged at the block time (``window_at``). Returns False
    (and logs why) when the attach is refused: ``proof_already_used`` (one tx
    paying two requests, D20) or a request that stopped accepting proofs
    between the query and the lock. Callers run it outside any transaction:
    the attach commits on its own, so its hash's D20 index entry is never
    held while another request's row is awaited (a deadlock with a payer
    pasting that hash there).
    """
    from payments.proofs.services import proof_attach

    try:
        proof_attach(
            request=request,
            chain_id=chain.chain_id,
            tx_hash=log.tx_hash,
            source=PR.ProofSource.TRAILS_ON_CHAIN,
            now=now,
            window_at=mined_at,
            enqueue=False,
        )
    except JoPayError as exc:
        logger.info(
            "watcher: chain %s tx %s not attached to %s: %s",
            chain.chain_id,
            log.tx_hash,
            request.pk,
            exc.code,
        )
        return False
    return True


def apply_chunk(
    chain: Chain,
    logs: list[TransferLog],
    *,
    held: int,
    times: dict[int, datetime],
    now: datetime,
) -> list[str] | None:
    """Attach matches, each in its own transaction, then move the cursor
    (forward only) to ``held``. Returns attached ids, or None (cursor kept)
    if the chain was switched off meanwhile.

    One transaction per attach, not one for the chunk: an attach holds its
    hash's entry in the D20 unique index until it commits. A payer pasting
    that hash on another request locks that request and waits for the entry;
    a chunk that then wanted the pasted-on request's row (a later transfer of
    the chunk pays it) closed a circle, and PostgreSQL killed one side
    (``deadlock detected``: a 500 on the pay page, or the chunk lost). A crash
    between the attaches and the cursor re-reads the chunk, which attaches
    nothing twice (the attached requests are no longer candidates).
    """
    attached: list[str] = []
    for log in logs:
        mined_at = times.get(log.block_number)
        if log.removed or mined_at is None:
            continue
        request = match_transfer(chain, log, mined_at)
        if request is None:
            continue
        if attach_found(chain, log, request, mined_at=mined_at, now=now):
            attached.append(str(request.pk))
    with transaction.atomic():
        # NO KEY: a verdict holding a request row may insert that request's
        # first rescan row, whose foreign key share-locks this chain row.
        row = Chain.objects.select_for_update(no_key=True).get(pk=chain.pk)
        if not row.is_usable:
            # Switched off mid-scan (D19): the attaches above were refused
            # (unsupported_chain), so the cursor stays before them and the
            # watcher resumes here once the chain is back on.
            return None
        if row.last_scanned_block is None or held > row.last_scanned_block:
            row.last_scanned_block, row.last_scanned_at = held, now
            row.save(
                update_fields=["last_scanned_block", "last_scanned_at", "updated_at"]
            )
        chain.last_scanned_block = row.last_scanned_block
    return attached
