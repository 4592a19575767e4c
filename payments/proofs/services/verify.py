"""Verifying a proof on-chain and applying the verdict (D16, D20, D23).

The chain is asked outside any transaction; the verdict is applied under the
row lock only if the check still owns the proof (``checks``): it is
``attached`` and its ``next_verify_at`` is still the lease this check claimed.
RPC trouble never produces a mismatch: the proof stays ``attached`` and is
retried with backoff.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from payments.chain.rpc import ChainClient, RpcError, RpcUnavailable
from payments.chain.verify import (
    NO_RECEIPT,
    Verdict,
    verify_transfer,
    window_start,
)
from payments.models import Chain, PaymentRequest
from payments.money import BIGINT_MAX
from webhooks.models import WebhookEvent

from .attach import emit
from .awaiting import awaited_elsewhere, awaiting_any
from .checks import proof_verify_take_over, record_rpc_failure
from .rescans_owed import rescans_schedule

logger = logging.getLogger("jopay.proofs")

PR = PaymentRequest
# D20, D36: no receipt this long after attaching → not_found_after_timeout.
NOT_FOUND_TIMEOUT = timedelta(minutes=30)
# Waiting for a receipt or confirmations: quick re-checks first, then calmer.
PENDING_DELAYS = (1, 2, 3, 5, 10, 15, 30, 60)


@dataclass(frozen=True)
class VerifyResult:
    """What one ``proof_verify`` run did (tasks use ``retry_in``)."""

    outcome: str  # verified | mismatch | pending | skipped
    request: PaymentRequest | None
    reason: str | None = None
    retry_in: int | None = None  # seconds until the next check while pending


def _pending_delay(attempts: int) -> int:
    return PENDING_DELAYS[min(attempts, len(PENDING_DELAYS) - 1)]


def proof_verify(
    *,
    request_id: uuid.UUID | str,
    now: datetime | None = None,
    client: ChainClient | None = None,
    claim: datetime | None = None,
) -> VerifyResult:
    """Check the request's attached proof on-chain and apply the verdict.

    ``claim`` is the lease ``proof_verify_claim`` returned to a scheduled
    check; without one, the check is taken over now (``proof_reverify``).

    Guarantees: the chain is asked outside any transaction; the verdict is
    applied under the row lock only if the check still owns the proof: it is
    ``attached`` and ``next_verify_at`` is still the claim. So a second run,
    or a run racing another, writes nothing twice, and a verdict read before
    the proof was attached again (the same hash, D16/D20) or taken over by
    another check is dropped, never applied to the attachment after it. Verified
    → ``proof_status`` verified, ``status`` paid (also from expired, D16),
    evidence and ``payment.proof_verified``; mismatch → ``mismatch_reason`` and
    ``payment.proof_mismatch``; pending → ``next_verify_at`` later.
    Raises ``RpcUnavailable`` / ``RpcError`` after recording the failed try;
    the proof then stays ``attached``.
    """
    if claim is None:
        claim = proof_verify_take_over(request_id=request_id, now=now or timezone.now())
    request = PR.objects.filter(pk=request_id).first()
    if (
        claim is None
        or request is None
        or request.proof_status != PR.ProofStatus.ATTACHED
    ):
        return VerifyResult("skipped", request)
    chain = Chain.objects.filter(pk=request.chain_id).first()
    if chain is None:  # the attach checked it; only an operator deleting it gets here
        raise RpcUnavailable(f"chain {request.chain_id} is not configured")
    tx_hash = request.tx_hash or ""
    client = client or ChainClient(chain)
    try:
        verdict = verify_transfer(
            client,
            chain,
            tx_hash,
            receiving_address=request.receiving_address,
            usdc_micro=request.usdc_micro,
            not_before=window_start(request.created_at),  # D20: none from before
            deadline=request.proof_deadline,
            awaited_elsewhere=awaited_elsewhere(request),
        )
    except (RpcUnavailable, RpcError) as exc:
        logger.warning(
            "proof %s on chain %s: %s (%s)",
            request.pk,
            chain.chain_id,
            exc.code,
            exc.detail,
        )
        record_rpc_failure(
            request.pk, tx_hash=tx_hash, claim=claim, now=now or timezone.now()
        )
        raise
    return _apply(
        request.pk,
        chain_id=chain.chain_id,
        tx_hash=tx_hash,
        verdict=verdict,
        now=now or timezone.now(),
        claim=claim,
    )


@transaction.atomic
def _apply(
    request_id: uuid.UUID,
    *,
    chain_id: int,
    tx_hash: str,
    verdict: Verdict,
    now: datetime,
    claim: datetime | None = None,
) -> VerifyResult:
    """Apply ``verdict`` under the row lock if its check still owns the proof.

    ``claim`` None (tests applying a verdict by hand) checks the proof only.
    """
    row = (
        # of=self: never the partner row. NO KEY: the rescan rows a mismatch
        # owes other requests check their foreign key with KEY SHARE, which
        # FOR UPDATE on those requests' rows (another verdict, an attach)
        # blocked while their holders waited on this one: a deadlock.
        PR.objects.select_for_update(of=("self",), no_key=True)
        .select_related("partner")
        .filter(pk=request_id)
        .first()
    )
    if (
        row is None
        or row.proof_status != PR.ProofStatus.ATTACHED
        or row.tx_hash != tx_hash
        or row.chain_id != chain_id
        # D16/D20: the same hash may be attached again after a mismatch; a
        # verdict read for the earlier attachment (or by a check another one
        # took over) is not this attachment's. Its own check decides.
        or (claim is not None and row.next_verify_at != claim)
    ):
        return VerifyResult("skipped", row)  # someone else applied a verdict first
    row.verify_attempts += 1
    row.rpc_failures = 0  # the chain answered: the next failure is a first
    fields = ["verify_attempts", "rpc_failures", "next_verify_at", "updated_at"]

    if verdict.outcome == "pending":
        timed_out = (
            verdict.reason == NO_RECEIPT
            and row.proof_attached_at is not None
            and now >= row.proof_attached_at + NOT_FOUND_TIMEOUT
        )
        if not timed_out:
            delay = _pending_delay(row.verify_attempts - 1)
            if verdict.reason == NO_RECEIPT and row.proof_attached_at is not None:
                # Never wait past the moment the timeout verdict becomes due.
                due = (row.proof_attached_at + NOT_FOUND_TIMEOUT - now).total_seconds()
                delay = max(1, min(delay, int(due) + 1))
            row.next_verify_at = now + timedelta(seconds=delay)
            row.save(update_fields=fields)
            return VerifyResult("pending", row, reason=verdict.reason, retry_in=delay)
        verdict = Verdict("mismatch", PR.MismatchReason.NOT_FOUND_AFTER_TIMEOUT)

    row.next_verify_at = None
    if verdict.outcome == "verified":
        row.proof_status = PR.ProofStatus.VERIFIED
        row.status = PR.Status.PAID  # D16: also from expired when verified within grace
        row.verified_at = now
        row.payer_address = verdict.payer_address
        row.evidence = verdict.evidence
        # A uint256 transfer can overpay past the BIGINT column: the column
        # saturates; the evidence keeps the exact value_micro (D20, D23).
        row.overpaid_micro = min(max(verdict.overpaid_micro, 0), BIGINT_MAX)
        row.mismatch_reason = None
        row.save(
            update_fields=[
                *fields,
                "proof_status",
                "status",
                "verified_at",
                "payer_address",
                "evidence",
                "overpaid_micro",
                "mismatch_reason",
            ]
        )
        emit(row, WebhookEvent.Type.PROOF_VERIFIED)
        return VerifyResult("verified", row)

    row.proof_status = PR.ProofStatus.MISMATCH
    row.mismatch_reason = verdict.reason
    row.payer_address = verdict.payer_address
    row.save(
        update_fields=[*fields, "proof_status", "mismatch_reason", "payer_address"]
    )
    emit(row, WebhookEvent.Type.PROOF_MISMATCH)
    # D20/D21: while this proof was attached the watcher passed the request
    # over, so a real payment it saw meanwhile (the payer pasted a wrong hash,
    # or a wallet's speed-up replaced the one pasted) must be looked for again.
    # Owed as rows in this transaction: a broker outage cannot lose it.
    owed = [(row, row.watch_cursors)]
    # The freed hash may be another request's exact payment — at this wallet
    # or another merchant's — pasted here before the watcher attached it
    # there: the watcher refused it to that request while this proof held it
    # (proof_already_used) and moved on, so that request is owed a rescan too
    # (D15, D20).
    # Owed on this proof's chain even if it was switched off mid-check (D19).
    freed_on = {str(chain_id): None}
    owed += [(other, freed_on) for other in awaiting_any(row, verdict.usdc_transfers)]
    # In one order (by id) for every verdict: two verdicts freeing each
    # other's payment (a payer who pasted two hashes the wrong way round)
    # wrote their rescan rows in opposite orders and deadlocked on the rescan
    # table's unique index.
    for request, floors in sorted(owed, key=lambda pair: pair[0].pk):
        rescans_schedule(
            request=request,
            now=now,
            floors=floors,
            # The chains read while this proof held the request, even those
            # off when it was attached and off again now (D19, D21).
            held_since=row.proof_attached_at if request is row else None,
        )
    return VerifyResult("mismatch", row, reason=verdict.reason)
