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

from .attach import (
    ACCEPTING_STATUSES,
    accepts_proofs,
    chain_for_proof,
    normalize_tx_hash,
    proof_attach,
)
from .checks import rpc_backoff
from .reverify import proof_reverify
from .verify import NOT_FOUND_TIMEOUT, PENDING_DELAYS, VerifyResult, proof_verify

__all__ = [
    "ACCEPTING_STATUSES",
    "NOT_FOUND_TIMEOUT",
    "PENDING_DELAYS",
    "VerifyResult",
    "accepts_proofs",
    "chain_for_proof",
    "normalize_tx_hash",
    "proof_attach",
    "proof_reverify",
    "proof_verify",
    "rpc_backoff",
]
