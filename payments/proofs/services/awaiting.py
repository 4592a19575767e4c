"""Which other requests a transfer may belong to (D15, D20).

D15 makes an exact amount unique to one request per wallet while it is open
or in its grace. So a transfer that a proof on one request cannot use may be
another request's payment: it must not be taken as an overpayment here
(``awaited_elsewhere``), and when the proof frees its hash, that other request
is owed a rescan (``awaiting_any``). Across partners, like D15's uniqueness
(one wallet may serve several), so these reads are not tenant-scoped by
design; always in the request's own mode, the only one its chain pays.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from django.db.models import Q

from payments.chain.matching import (
    CANDIDATE_PROOF_STATUSES,
    CANDIDATE_STATUSES,
    in_window,
)
from payments.chain.verify import CREATED_AT_SKEW
from payments.models import PaymentRequest
from payments.money import BIGINT_MAX

PR = PaymentRequest


def _storable(micro: int) -> bool:
    """Whether ``micro`` can be a request's ``usdc_micro`` at all. A transfer's
    value is a uint256; one past the BIGINT column awaits nothing, and as a
    query parameter it raised ``OverflowError`` out of the verdict."""
    return 0 < micro <= BIGINT_MAX


def awaiting_any(request: PaymentRequest, transfers: Iterable[tuple[str, int]]):
    """Other requests that may still be paid whose (wallet, exact amount) is one
    of ``transfers``, in ``request``'s mode (D15: across partners, like the
    tags; not tenant-scoped by design). Read through the (address, amount)
    index with both lists, then kept only for exact pairs."""
    pairs = {(address, micro) for address, micro in transfers if _storable(micro)}
    if not pairs:
        return []
    rows = PR.objects.filter(
        receiving_address__in={address for address, _ in pairs},
        usdc_micro__in={micro for _, micro in pairs},
        test_mode=request.test_mode,
        status__in=CANDIDATE_STATUSES,
        # One whose proof is attached too (maybe a wrong hash): the watcher
        # refused it this transfer before that proof, so the blocks lie below
        # the floor its own mismatch would rescan from. Its rescan waits on
        # the row (``rescan_hold``) until that proof is judged.
        proof_status__in=(*CANDIDATE_PROOF_STATUSES, PR.ProofStatus.ATTACHED),
    ).exclude(pk=request.pk)
    return [r for r in rows if (r.receiving_address, r.usdc_micro) in pairs]


def awaited_elsewhere(request: PaymentRequest):
    """``verify_transfer``'s check: was another request at this wallet waiting for
    exactly ``value_micro`` when the transfer was mined? One whose proof is
    attached (maybe a wrong hash) still is; a verified one is paid. So is one
    cancelled only after the transfer was mined (D15, D18): it was open then,
    and the transfer is its customer's payment, which the watcher refused it
    only because the cancel came first; it pays no other request."""

    def awaited(value_micro: int, mined_at: datetime) -> bool:
        if not _storable(value_micro):
            return False
        # Across partners, like D15's uniqueness; in the request's mode.
        at_wallet = PR.objects.filter(
            receiving_address=request.receiving_address,
            usdc_micro=value_micro,
            test_mode=request.test_mode,
        ).exclude(pk=request.pk)
        open_then = Q(status__in=CANDIDATE_STATUSES) & ~Q(
            proof_status=PR.ProofStatus.VERIFIED
        )
        # Block times run a little off the wall clock (anvil's rounds up a
        # second): the same skew as for a request created just after a block.
        cancelled_since = Q(
            status=PR.Status.CANCELLED, cancelled_at__gt=mined_at - CREATED_AT_SKEW
        )
        return (
            at_wallet.filter(in_window(mined_at))
            .filter(open_then | cancelled_since)
            .exists()
        )

    return awaited
