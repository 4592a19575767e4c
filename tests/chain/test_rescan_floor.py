"""A mismatch rescans from where the watcher stood at the attach (D20, D21).

An anonymous proof POST of any mined hash ends in a mismatch, and each
mismatch owed a rescan of the request's whole window on every chain: up to 90
days of blocks (a binary search and two calls per 2 000 blocks), ten times an
hour per pay link. The watcher had read every block up to its cursor before
the proof held the request, so only the blocks from there on need reading
again, less the watcher's reorg margin.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from payments.chain.defaults import reorg_margin
from payments.chain.rescan import rescan_request_window
from payments.chain.watcher import scan_chain
from payments.models import Chain, PaymentRequest, RequestRescan
from payments.proofs.services import proof_attach, proof_verify
from payments.proofs.services.rescans import rescans_schedule

from .conftest import CHAIN_ID, PAYERS, mine, send_token

pytestmark = pytest.mark.chain

PR = PaymentRequest
RANDOM_HASH = "0x" + "5f" * 32  # nothing was mined under it


def _mismatch(pr) -> None:
    pr.refresh_from_db()
    result = proof_verify(
        request_id=pr.pk, now=pr.proof_attached_at + timedelta(minutes=31)
    )
    assert result.reason == "not_found_after_timeout"


def test_the_attach_records_the_watchers_cursor_on_the_modes_chains(
    local_chain, make_request
):
    local_chain.last_scanned_block = 1234
    local_chain.save()
    Chain.objects.filter(pk=8453).update(last_scanned_block=999_999)  # a mainnet
    pr = make_request()  # test mode: paid on the local chain only (D19)
    proof_attach(request=pr, chain_id=CHAIN_ID, tx_hash=RANDOM_HASH, source="customer")
    pr.refresh_from_db()
    assert pr.watch_cursors == {str(CHAIN_ID): 1234}


def test_a_payment_the_lagging_watcher_had_not_reached_is_still_found(
    local_chain, anvil, w3, usdc, make_request
):
    # The watcher stands at block C; the customer pays after it; before the
    # watcher gets there, a wrong hash is pasted (C is recorded) and the
    # watcher then passes the payment over.
    mine(anvil, 30)
    cursor = w3.eth.block_number
    local_chain.last_scanned_block = cursor
    local_chain.save()
    pr = make_request(usdc_micro=7_900_001)
    real = send_token(
        w3, usdc, payer=PAYERS[0], to=pr.receiving_address, value=7_900_001
    )
    proof_attach(request=pr, chain_id=CHAIN_ID, tx_hash=RANDOM_HASH, source="customer")
    assert scan_chain(Chain.objects.get(pk=CHAIN_ID)).attached == []
    mine(anvil, 5)

    _mismatch(pr)

    row = RequestRescan.objects.get(request=pr, chain_id=CHAIN_ID)
    assert row.floor_block == cursor
    result = rescan_request_window(
        request_id=pr.pk, chain_id=CHAIN_ID, floor_block=row.floor_block
    )
    margin = reorg_margin(
        confirmations=local_chain.confirmations, is_local=local_chain.is_local
    )
    assert result.from_block == cursor - margin  # not the window's first block
    assert result.outcome == "verified"
    pr.refresh_from_db()
    assert (pr.tx_hash, pr.status) == (real, "paid")


def test_a_restarted_rescan_keeps_the_lower_floor(local_chain, make_request):
    # Blocks an earlier proof hid must still be read when a second proof's
    # mismatch restarts the scan before it ran.
    pr = make_request(proof_status=PR.ProofStatus.MISMATCH, tx_hash=RANDOM_HASH)
    key = str(CHAIN_ID)
    rescans_schedule(request=pr, now=pr.created_at, floors={key: 100})
    rescans_schedule(request=pr, now=pr.created_at, floors={key: 150})
    assert RequestRescan.objects.get(request=pr).floor_block == 100
    rescans_schedule(request=pr, now=pr.created_at, floors={key: 40})
    assert RequestRescan.objects.get(request=pr).floor_block == 40
    # No floor (the window's start) is the lowest of all, and stays.
    rescans_schedule(request=pr, now=pr.created_at, floors=None)
    rescans_schedule(request=pr, now=pr.created_at, floors={key: 10})
    assert RequestRescan.objects.get(request=pr).floor_block is None
