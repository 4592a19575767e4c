"""Re-verifying a proof now, for the API and staff (D35).

``proof_reverify`` runs the check synchronously within a budget, attaching a
mismatched proof again first, and leaves the background re-check going when
the chain has no verdict yet.
"""

from __future__ import annotations

from jopay_project.errors import ErrorCode, JoPayError
from payments.chain.errors import RpcUnavailable
from payments.chain.rpc import ChainClient
from payments.models import Chain, PaymentRequest

from .attach import proof_attach
from .checks import next_check_enqueue
from .verify import proof_verify

PR = PaymentRequest
# The API's synchronous re-check (D35).
REVERIFY_BUDGET_SECONDS = 10.0


def _same_proof(request: PaymentRequest) -> bool:
    """Whether the row still holds the mismatched proof ``request`` was read with."""
    return PR.objects.filter(
        pk=request.pk,
        proof_status=request.proof_status,
        chain_id=request.chain_id,
        tx_hash=request.tx_hash,
        proof_attached_at=request.proof_attached_at,
    ).exists()


def _cancelled(request: PaymentRequest) -> bool:
    return PR.objects.filter(pk=request.pk, status=PR.Status.CANCELLED).exists()


def proof_reverify(
    *, request: PaymentRequest, budget: float = REVERIFY_BUDGET_SECONDS
) -> PaymentRequest:
    """Re-run verification now, within ``budget`` seconds; return the fresh row (D35).

    An ``attached`` proof is checked at once. A ``mismatch`` proof with a hash
    is attached again first (same hash, same source; D20 allows it) and then
    checked, so an operator can re-judge e.g. a ``not_found_after_timeout``,
    also after the grace: the D16 window is judged at the proof's first attach
    (the transfer's block time is still checked against it).
    Any other state is returned unchanged, also one another proof reached
    after ``request`` was read (it is checked as if it had come first), and a
    cancelled request whatever its proof: cancelled is final (D18), so its
    mismatched proof is not attached again (that refusal was a 409
    ``proof_not_accepted`` D35 does not give this endpoint).
    Raises ``rpc_unavailable`` (503) or ``rpc_error`` (500) when the chain
    cannot answer in time; the proof then stays ``attached`` and the
    background re-check carries on.
    """
    if (
        request.proof_status == PR.ProofStatus.MISMATCH
        and request.tx_hash
        and request.status != PR.Status.CANCELLED
    ):
        chain = Chain.objects.filter(pk=request.chain_id).first()
        if chain is None or not chain.rpc_urls:
            # D35: chain trouble, as for an attached proof on that chain (not
            # ``unsupported_chain``: the chain took the proof); the proof stays
            # a mismatch rather than attached to a chain nothing can read.
            raise RpcUnavailable(f"chain {request.chain_id} has no RPC URL")
        try:
            proof_attach(
                request=request,
                chain_id=request.chain_id,
                tx_hash=request.tx_hash,
                source=request.proof_source or PR.ProofSource.ADMIN,
                window_at=request.proof_attached_at,
                enqueue=False,
                rejudge=True,
            )
        except JoPayError as exc:
            # ``request`` was read unlocked: another proof attached (or judged)
            # since is what there is to check now, as if it had come first.
            # The read proof still standing and refused is the answer.
            # A cancel committed since the read is answered as one read.
            if exc.code != ErrorCode.PROOF_NOT_ACCEPTED or (
                _same_proof(request) and not _cancelled(request)
            ):
                raise
    current = PR.objects.get(pk=request.pk)
    if current.proof_status == PR.ProofStatus.ATTACHED:
        chain = Chain.objects.filter(pk=current.chain_id).first()
        client = ChainClient(chain, budget=budget) if chain is not None else None
        result = proof_verify(request_id=current.pk, client=client)
        if result.outcome == "pending":
            # Keep the background path going at the pace it asked for.
            next_check_enqueue(result.request, result.retry_in)
    return PR.objects.select_related("merchant").get(pk=request.pk)
