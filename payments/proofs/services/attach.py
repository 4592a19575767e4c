"""Attaching a proof: validate the hash, chain and request, lock, record, announce.

No network I/O here. The event is written in the same transaction as the
state change (D24) and verification is enqueued on commit.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from jopay_project.errors import ErrorCode, JoPayError
from jopay_project.formats import iso
from jopay_project.tasks import enqueue_on_commit
from payments.chain.matching import already_judged
from payments.models import Chain, PaymentRequest
from payments.serializers import payment_request_event_data
from webhooks.models import WebhookEvent
from webhooks.services import event_emit

PR = PaymentRequest
TX_HASH_RE = re.compile(r"^0x[0-9a-fA-F]{64}\Z")
ACCEPTING_STATUSES = (PR.Status.REQUESTED, PR.Status.OPENED, PR.Status.EXPIRED)


def normalize_tx_hash(value: object) -> str:
    """``0x`` + 64 hex, lower-cased; else (missing too) → ``invalid_tx_hash``."""
    if not isinstance(value, str) or not TX_HASH_RE.match(value.strip()):
        raise JoPayError(ErrorCode.INVALID_TX_HASH)
    return value.strip().lower()


def chain_for_proof(*, chain_id: object, test_mode: bool, usable: bool = True) -> Chain:
    """A usable chain the mode accepts (D19), else ``unsupported_chain``.

    ``usable=False`` (a re-verify re-judging the row's own proof) also takes a
    chain switched off since: ``proof_attach`` then asks for it to be usable
    unless the proof is indeed the row's own (D35)."""
    if isinstance(chain_id, bool):
        raise JoPayError(ErrorCode.UNSUPPORTED_CHAIN)
    try:
        number = int(str(chain_id).strip())
    except (TypeError, ValueError):
        raise JoPayError(ErrorCode.UNSUPPORTED_CHAIN) from None
    chain = Chain.objects.filter(pk=number).first()
    if (
        chain is None
        or (usable and not chain.is_usable)
        or not chain.accepts(test_mode=test_mode)
    ):
        raise JoPayError(ErrorCode.UNSUPPORTED_CHAIN)
    return chain


def watch_cursors(*, test_mode: bool) -> dict[str, int]:
    """The watcher's cursor on each chain a request of this mode is paid on."""
    return {
        str(chain.chain_id): chain.last_scanned_block
        for chain in Chain.objects.filter(
            enabled=True, last_scanned_block__isnull=False
        )
        if chain.accepts(test_mode=test_mode)
    }


def accepts_proofs(request: PaymentRequest, *, now: datetime) -> bool:
    """D16: not cancelled, not paid/verified, and now ≤ expires_at + grace."""
    return (
        request.status in ACCEPTING_STATUSES
        and request.proof_status != PR.ProofStatus.VERIFIED
        and now <= request.proof_deadline
    )


def event_data(request: PaymentRequest) -> dict[str, Any]:
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


def emit(request: PaymentRequest, event_type: str) -> None:
    event_emit(
        partner=request.partner,
        test_mode=request.test_mode,
        type=event_type,
        data=event_data(request),
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
    window_at: datetime | None = None,
    enqueue: bool = True,
    rejudge: bool = False,
) -> PaymentRequest:
    """Attach ``(chain_id, tx_hash)`` as the request's proof and return the fresh row.

    The D16 window (``expires_at`` + grace) is judged at ``now``, except for the
    chain watcher, which passes ``window_at`` = the block time of the transfer
    it found: a payment mined on time still attaches when the watcher only gets
    to it after an outage (D20: never refuse because the node was down). It
    counts only for ``trails_on_chain`` and for a re-verify re-attaching the
    row's own mismatched proof (judged when that proof was first attached,
    which D16 accepted then, and keeping that attach time); otherwise it is
    ignored, so a new hash pasted by anyone is judged by the wall clock.
    ``rejudge`` (a re-verify) marks that re-attach whatever the row's source:
    a watcher-found proof (``trails_on_chain``) is then re-judged too, not
    refused as a hash already judged; D16 accepted it on its block time, so
    its window is not judged again here (verification checks that time).
    The transfer's block time is checked against the window in verification
    either way, so neither lets a late payment through.

    Guarantees: the row is locked; on success ``proof_status`` is ``attached``
    (``mismatch_reason`` cleared), ``payment.proof_attached`` is written in the
    same transaction and ``payments.verify_proof`` is enqueued after commit
    (unless ``enqueue`` is off: the chain watcher verifies inline). Attaching
    the same hash again while it is attached is a no-op (no second event).
    Raises ``invalid_tx_hash``, ``unsupported_chain``, ``proof_not_accepted``
    (D16; for the watcher also a hash already judged for this request, D21)
    or ``proof_already_used`` (another request's attached or verified
    proof, enforced by the partial unique index, D20); nothing is written then.
    """
    tx_hash = normalize_tx_hash(tx_hash)
    if source not in PR.ProofSource.values:
        raise ValueError(f"unknown proof source {source!r}")
    chain = chain_for_proof(
        chain_id=chain_id, test_mode=request.test_mode, usable=not rejudge
    )
    now = now or timezone.now()
    locked = (
        # of=self: the partner row stays unlocked (events and creates insert
        # rows that reference it; locking it deadlocked them against the watcher).
        # NO KEY, as ``verify._apply``: a verdict freeing this hash elsewhere
        # (this attach waits for it on the D20 index) may owe this request a
        # rescan row, whose foreign key check FOR UPDATE here would block.
        PR.objects.select_for_update(of=("self",), no_key=True)
        .select_related("partner")
        .get(pk=request.pk)
    )
    if (
        locked.proof_status == PR.ProofStatus.ATTACHED
        and locked.chain_id == chain.chain_id
        and locked.tx_hash == tx_hash
    ):
        return locked  # idempotent: the same proof is already being checked
    rejudged = False
    if window_at is not None and (rejudge or source != PR.ProofSource.TRAILS_ON_CHAIN):
        rejudged = (
            locked.proof_status == PR.ProofStatus.MISMATCH
            and (locked.chain_id, locked.tx_hash) == (chain.chain_id, tx_hash)
            and window_at == locked.proof_attached_at
        )
        if not rejudged:
            # Not (or no longer, after a concurrent attach) the row's own
            # mismatched proof: judged by the wall clock like any other.
            window_at = None
        elif source == PR.ProofSource.TRAILS_ON_CHAIN:
            # The watcher may have attached it after the grace (a catch-up
            # after an outage): it was accepted on its block time, not then.
            window_at = min(window_at, locked.proof_deadline)
    if not (chain.is_usable or (rejudged and chain.rpc_urls)):
        # D35: re-judging the row's own proof, accepted at its first attach,
        # reads its chain even if switched off since (as for an attached proof:
        # verification still reads it); anything else needs a usable chain.
        raise JoPayError(ErrorCode.UNSUPPORTED_CHAIN)
    if (
        not accepts_proofs(locked, now=window_at or now)
        or locked.proof_status == PR.ProofStatus.ATTACHED
        # D21: the watcher (and a rescan) matched the transfer to the row read
        # unlocked; the same hash pasted and judged since is not attached
        # again (an extra attached/mismatch pair of events).
        or (
            source == PR.ProofSource.TRAILS_ON_CHAIN
            and locked.proof_status == PR.ProofStatus.MISMATCH
            and not rejudged
            and already_judged(locked, chain_id=chain.chain_id, tx_hash=tx_hash)
        )
    ):
        raise JoPayError(ErrorCode.PROOF_NOT_ACCEPTED)

    locked.chain_id = chain.chain_id
    locked.tx_hash = tx_hash
    locked.proof_status = PR.ProofStatus.ATTACHED
    locked.proof_source = source
    if not rejudged:
        # A re-judged proof keeps its first attach time: the window is judged
        # at it, so a second re-verify after the grace is accepted too. Its
        # not-found clock has run out then, so a transaction still without a
        # receipt is not_found_after_timeout again at once; the watcher still
        # pays the request if it is mined in the window (D16, D20).
        locked.proof_attached_at = now
    # Where the watcher stands now: it passes the request over from here while
    # this proof holds it, so a mismatch owes a rescan from here only.
    locked.watch_cursors = watch_cursors(test_mode=locked.test_mode)
    locked.mismatch_reason = None
    locked.payer_address = None
    locked.evidence = None
    locked.overpaid_micro = 0
    locked.verify_attempts = 0
    locked.rpc_failures = 0
    locked.next_verify_at = now
    try:
        # A savepoint: the unique index failing must not poison a caller's
        # transaction.
        with transaction.atomic():
            locked.save(
                update_fields=[
                    "chain_id",
                    "tx_hash",
                    "proof_status",
                    "proof_source",
                    "proof_attached_at",
                    "watch_cursors",
                    "mismatch_reason",
                    "payer_address",
                    "evidence",
                    "overpaid_micro",
                    "verify_attempts",
                    "rpc_failures",
                    "next_verify_at",
                    "updated_at",
                ]
            )
    except IntegrityError:
        raise JoPayError(ErrorCode.PROOF_ALREADY_USED) from None
    emit(locked, WebhookEvent.Type.PROOF_ATTACHED)
    if enqueue:
        from ..tasks import verify_proof_task

        # The due token makes a duplicate delivery a no-op (proof_verify_claim).
        enqueue_on_commit(
            verify_proof_task, str(locked.pk), locked.next_verify_at.isoformat()
        )
    return locked
