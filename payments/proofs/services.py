"""Proofs: attach a transaction hash to a request, verify it on-chain (D16, D20, D21).

* ``proof_attach`` validates and records a ``(chain_id, tx_hash)`` for a
  request, writes ``payment.proof_attached`` and enqueues verification on
  commit. No network I/O.
* ``proof_verify`` asks the chain (outside any transaction), then locks the
  row, re-checks that the same proof is still ``attached`` and applies the
  verdict with its event. Running it twice changes nothing the second time.
* ``proof_reverify`` is the synchronous variant the API calls (10 s budget).

A node being down never produces a ``mismatch``: the proof stays ``attached``
with ``next_verify_at`` pushed back, and the caller retries (D20).
"""

from __future__ import annotations

import logging
import random
import re
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from jopay_project.errors import ErrorCode, JoPayError
from jopay_project.formats import iso
from payments.chain.rpc import ChainClient, RpcError, RpcUnavailable
from payments.chain.verify import CONFIRMATIONS, NO_RECEIPT, Verdict, verify_transfer
from payments.models import Chain, PaymentRequest
from payments.serializers import payment_request_event_data
from webhooks.models import WebhookEvent
from webhooks.services import event_emit

logger = logging.getLogger("jopay.proofs")

PR = PaymentRequest
TX_HASH_RE = re.compile(r"^0x[0-9a-fA-F]{64}$")
# D20, D36: no receipt this long after attaching → not_found_after_timeout.
NOT_FOUND_TIMEOUT = timedelta(minutes=30)
# The API's synchronous re-check (D35).
REVERIFY_BUDGET_SECONDS = 10.0
# Waiting for a receipt or confirmations: quick re-checks first, then calmer.
PENDING_DELAYS = (2, 3, 5, 10, 15, 30, 60)
# RPC trouble: back off harder, with jitter (many proofs share one node).
RPC_BACKOFF = (15, 30, 60, 120, 300, 600)
ACCEPTING_STATUSES = (PR.Status.REQUESTED, PR.Status.OPENED, PR.Status.EXPIRED)


@dataclass(frozen=True)
class VerifyResult:
    """What one ``proof_verify`` run did (tasks use ``retry_in``)."""

    outcome: str  # verified | mismatch | pending | skipped
    request: PaymentRequest | None
    reason: str | None = None
    retry_in: int | None = None  # seconds until the next check while pending


def normalize_tx_hash(value: object) -> str:
    """``0x`` + 64 hex, lower-cased; else (missing too) → ``invalid_tx_hash``."""
    if not isinstance(value, str) or not TX_HASH_RE.match(value.strip()):
        raise JoPayError(ErrorCode.INVALID_TX_HASH)
    return value.strip().lower()


def chain_for_proof(*, chain_id: object, test_mode: bool) -> Chain:
    """A usable chain the mode accepts (D19), else ``unsupported_chain``."""
    if isinstance(chain_id, bool):
        raise JoPayError(ErrorCode.UNSUPPORTED_CHAIN)
    try:
        number = int(str(chain_id).strip())
    except (TypeError, ValueError):
        raise JoPayError(ErrorCode.UNSUPPORTED_CHAIN) from None
    chain = Chain.objects.filter(pk=number).first()
    if chain is None or not chain.is_usable or not chain.accepts(test_mode=test_mode):
        raise JoPayError(ErrorCode.UNSUPPORTED_CHAIN)
    return chain


def accepts_proofs(request: PaymentRequest, *, now: datetime) -> bool:
    """D16: not cancelled, not paid/verified, and now ≤ expires_at + grace."""
    return (
        request.status in ACCEPTING_STATUSES
        and request.proof_status != PR.ProofStatus.VERIFIED
        and now <= request.proof_deadline
    )


def _event_data(request: PaymentRequest) -> dict[str, Any]:
    data = payment_request_event_data(request)
    if request.proof_status == PR.ProofStatus.VERIFIED and request.evidence:
        # D23 / D34: enough on-chain evidence for a partner to check it alone.
        ev = request.evidence
        data.update(
            {
                "block_number": ev["block_number"],
                "block_hash": ev["block_hash"],
                "log_index": ev["log_index"],
                "token_address": ev["token_address"],
                "value_micro": ev["value_micro"],
                "confirmations": ev["confirmations"],
                "verified_at": iso(request.verified_at),
            }
        )
    return data


def _emit(request: PaymentRequest, event_type: str) -> None:
    event_emit(
        partner=request.partner,
        test_mode=request.test_mode,
        type=event_type,
        data=_event_data(request),
        request_id=request.pk,
    )


@transaction.atomic
def proof_attach(
    *,
    request: PaymentRequest,
    chain_id: object,
    tx_hash: object,
    source: str,
    now: datetime | None = None,
    enqueue: bool = True,
) -> PaymentRequest:
    """Attach ``(chain_id, tx_hash)`` as the request's proof and return the fresh row.

    Guarantees: the row is locked; on success ``proof_status`` is ``attached``
    (``mismatch_reason`` cleared), ``payment.proof_attached`` is written in the
    same transaction and ``payments.verify_proof`` is enqueued after commit
    (unless ``enqueue`` is off: the chain watcher verifies inline). Attaching
    the same hash again while it is attached is a no-op (no second event).
    Raises ``invalid_tx_hash``, ``unsupported_chain``, ``proof_not_accepted``
    (D16) or ``proof_already_used`` (another request's attached or verified
    proof, enforced by the partial unique index, D20); nothing is written then.
    """
    tx_hash = normalize_tx_hash(tx_hash)
    if source not in PR.ProofSource.values:
        raise ValueError(f"unknown proof source {source!r}")
    chain = chain_for_proof(chain_id=chain_id, test_mode=request.test_mode)
    now = now or timezone.now()
    locked = PR.objects.select_for_update().select_related("partner").get(pk=request.pk)

    if (
        locked.proof_status == PR.ProofStatus.ATTACHED
        and locked.chain_id == chain.chain_id
        and locked.tx_hash == tx_hash
    ):
        return locked  # idempotent: the same proof is already being checked
    if (
        not accepts_proofs(locked, now=now)
        or locked.proof_status == PR.ProofStatus.ATTACHED
    ):
        raise JoPayError(ErrorCode.PROOF_NOT_ACCEPTED)

    locked.chain_id = chain.chain_id
    locked.tx_hash = tx_hash
    locked.proof_status = PR.ProofStatus.ATTACHED
    locked.proof_source = source
    locked.proof_attached_at = now
    locked.mismatch_reason = None
    locked.payer_address = None
    locked.evidence = None
    locked.overpaid_micro = 0
    locked.verify_attempts = 0
    locked.next_verify_at = now
    try:
        # A savepoint: the unique index failing must not poison the caller's
        # transaction (the watcher attaches many proofs in one).
        with transaction.atomic():
            locked.save(
                update_fields=[
                    "chain_id",
                    "tx_hash",
                    "proof_status",
                    "proof_source",
                    "proof_attached_at",
                    "mismatch_reason",
                    "payer_address",
                    "evidence",
                    "overpaid_micro",
                    "verify_attempts",
                    "next_verify_at",
                    "updated_at",
                ]
            )
    except IntegrityError:
        raise JoPayError(ErrorCode.PROOF_ALREADY_USED) from None
    _emit(locked, WebhookEvent.Type.PROOF_ATTACHED)
    if enqueue:
        from .tasks import verify_proof_task

        verify_proof_task.delay_on_commit(str(locked.pk))
    return locked


def _pending_delay(attempts: int) -> int:
    return PENDING_DELAYS[min(attempts, len(PENDING_DELAYS) - 1)]


def rpc_backoff(attempts: int) -> int:
    """Seconds before the next try after ``attempts`` failed ones (±20 % jitter)."""
    base = RPC_BACKOFF[min(max(attempts - 1, 0), len(RPC_BACKOFF) - 1)]
    return max(1, round(base * random.uniform(0.8, 1.2)))  # noqa: S311 (jitter)


def _record_rpc_failure(request_id: uuid.UUID, *, tx_hash: str, now: datetime) -> int:
    """Push the next check back; the proof stays ``attached`` (D20). Returns it."""
    with transaction.atomic():
        row = (
            PR.objects.select_for_update()
            .filter(
                pk=request_id, proof_status=PR.ProofStatus.ATTACHED, tx_hash=tx_hash
            )
            .first()
        )
        if row is None:
            return 0
        row.verify_attempts += 1
        delay = rpc_backoff(row.verify_attempts)
        row.next_verify_at = now + timedelta(seconds=delay)
        row.save(update_fields=["verify_attempts", "next_verify_at", "updated_at"])
        return delay


def proof_verify(
    *,
    request_id: uuid.UUID | str,
    now: datetime | None = None,
    client: ChainClient | None = None,
) -> VerifyResult:
    """Check the request's attached proof on-chain and apply the verdict.

    Guarantees: the chain is asked outside any transaction; the verdict is
    applied under the row lock only if the same proof is still ``attached``
    (so a second run, or a run racing another, writes nothing twice). Verified
    → ``proof_status`` verified, ``status`` paid (also from expired, D16),
    evidence and ``payment.proof_verified``; mismatch → ``mismatch_reason`` and
    ``payment.proof_mismatch``; pending → ``next_verify_at`` later.
    Raises ``RpcUnavailable`` / ``RpcError`` after recording the failed try;
    the proof then stays ``attached``.
    """
    request = PR.objects.filter(pk=request_id).first()
    if request is None or request.proof_status != PR.ProofStatus.ATTACHED:
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
            deadline=request.proof_deadline,
        )
    except (RpcUnavailable, RpcError) as exc:
        logger.warning(
            "proof %s on chain %s: %s (%s)",
            request.pk,
            chain.chain_id,
            exc.code,
            exc.detail,
        )
        _record_rpc_failure(request.pk, tx_hash=tx_hash, now=now or timezone.now())
        raise
    return _apply(
        request.pk,
        chain_id=chain.chain_id,
        tx_hash=tx_hash,
        verdict=verdict,
        now=now or timezone.now(),
    )


@transaction.atomic
def _apply(
    request_id: uuid.UUID,
    *,
    chain_id: int,
    tx_hash: str,
    verdict: Verdict,
    now: datetime,
) -> VerifyResult:
    row = (
        PR.objects.select_for_update()
        .select_related("partner")
        .filter(pk=request_id)
        .first()
    )
    if (
        row is None
        or row.proof_status != PR.ProofStatus.ATTACHED
        or row.tx_hash != tx_hash
        or row.chain_id != chain_id
    ):
        return VerifyResult("skipped", row)  # someone else applied a verdict first
    row.verify_attempts += 1
    fields = ["verify_attempts", "next_verify_at", "updated_at"]

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
        row.overpaid_micro = max(verdict.overpaid_micro, 0)
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
        _emit(row, WebhookEvent.Type.PROOF_VERIFIED)
        return VerifyResult("verified", row)

    row.proof_status = PR.ProofStatus.MISMATCH
    row.mismatch_reason = verdict.reason
    row.payer_address = verdict.payer_address
    row.save(
        update_fields=[*fields, "proof_status", "mismatch_reason", "payer_address"]
    )
    _emit(row, WebhookEvent.Type.PROOF_MISMATCH)
    return VerifyResult("mismatch", row, reason=verdict.reason)


def proof_reverify(
    *, request: PaymentRequest, budget: float = REVERIFY_BUDGET_SECONDS
) -> PaymentRequest:
    """Re-run verification now, within ``budget`` seconds; return the fresh row (D35).

    An ``attached`` proof is checked at once. A ``mismatch`` proof with a hash
    is attached again first (same hash, same source; D20 allows it) and then
    checked, so an operator can re-judge e.g. a ``not_found_after_timeout``.
    Any other state is returned unchanged. Raises ``rpc_unavailable`` (503) or
    ``rpc_error`` (500) when the chain cannot answer in time; the proof then
    stays ``attached`` and the background re-check carries on.
    """
    if request.proof_status == PR.ProofStatus.MISMATCH and request.tx_hash:
        proof_attach(
            request=request,
            chain_id=request.chain_id,
            tx_hash=request.tx_hash,
            source=request.proof_source or PR.ProofSource.ADMIN,
            enqueue=False,
        )
    current = PR.objects.get(pk=request.pk)
    if current.proof_status == PR.ProofStatus.ATTACHED:
        chain = Chain.objects.filter(pk=current.chain_id).first()
        client = ChainClient(chain, budget=budget) if chain is not None else None
        result = proof_verify(request_id=current.pk, client=client)
        if result.outcome == "pending":
            from .tasks import verify_proof_task

            # Keep the background path going at the pace it asked for.
            pk, delay = str(current.pk), result.retry_in
            transaction.on_commit(
                lambda: verify_proof_task.apply_async((pk,), countdown=delay)
            )
    return PR.objects.select_related("merchant").get(pk=request.pk)


__all__ = [
    "CONFIRMATIONS",
    "NOT_FOUND_TIMEOUT",
    "VerifyResult",
    "accepts_proofs",
    "chain_for_proof",
    "normalize_tx_hash",
    "proof_attach",
    "proof_reverify",
    "proof_verify",
    "rpc_backoff",
]
