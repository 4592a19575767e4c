"""A hash pasted on a request as the watcher's chunk attaches it elsewhere (D20, D21).

The watcher attaches every match of a chunk of logs; a customer pasting one of
those hashes on another request must get ``proof_already_used`` (409), and
neither side may die of a deadlock. Forced with threads on their own
database connections, released by events (no sleeps).
"""

from __future__ import annotations

import threading

import pytest

from jopay_project.errors import ErrorCode
from payments.chain import matching as chunk_module  # the watcher's apply_chunk
from payments.chain.watcher import scan_chain
from payments.models import PaymentRequest
from payments.proofs.services import proof_attach
from tests.locks import db_thread, wait_until_blocked

from .conftest import CHAIN_ID, PAYERS, event_types, send_token

pytestmark = [pytest.mark.chain, pytest.mark.django_db(transaction=True)]

PR = PaymentRequest


def test_a_hash_pasted_on_a_request_the_same_chunk_pays_next_is_refused_not_deadlocked(
    local_chain, w3, usdc, make_request, monkeypatch
):
    """Transfer X pays B, transfer Y pays A; both are in one chunk. The payer
    of A pastes X (the wrong one of their two payments) just after the watcher
    attached X to B: the paste holds A's row and waits on X's index entry,
    and the watcher then wants A's row for Y. Two waits in a circle:
    PostgreSQL killed one (``deadlock detected``), a 500 on the pay page or a
    chunk of attaches lost."""
    local_chain.last_scanned_block = w3.eth.block_number
    local_chain.save()
    a = make_request(usdc_micro=5_000_031)
    b = make_request(usdc_micro=6_000_037)
    x = send_token(w3, usdc, payer=PAYERS[0], to=b.receiving_address, value=6_000_037)
    send_token(w3, usdc, payer=PAYERS[0], to=a.receiving_address, value=5_000_031)

    results: dict = {}
    pids: dict = {}

    def run(name, fn):
        return db_thread(name, fn, results, pids)

    scan = run("watcher", lambda: scan_chain(local_chain))
    first_attached, go = threading.Event(), threading.Event()
    original = chunk_module.attach_found

    def attach_found(chain, log, request, **kwargs):
        done = original(chain, log, request, **kwargs)
        if threading.current_thread() is scan and not first_attached.is_set():
            first_attached.set()
            assert go.wait(20)
        return done

    monkeypatch.setattr(chunk_module, "attach_found", attach_found)

    def paste():
        return proof_attach(
            request=a, chain_id=CHAIN_ID, tx_hash=x, source="customer", enqueue=False
        ).proof_status

    payer = run("payer", paste)
    scan.start()
    try:
        assert first_attached.wait(20), results
        payer.start()
        wait_until_blocked(payer, pids, "payer")
    finally:
        go.set()
        scan.join(30)
        payer.join(30)

    assert results["payer"] == ErrorCode.PROOF_ALREADY_USED, results
    assert sorted(results["watcher"].attached) == sorted([str(a.pk), str(b.pk)])
    assert sorted(results["watcher"].verified) == sorted([str(a.pk), str(b.pk)])
    assert PR.objects.get(pk=b.pk).tx_hash == x
    assert event_types(a) == ["payment.proof_attached", "payment.proof_verified"]
    assert event_types(b) == ["payment.proof_attached", "payment.proof_verified"]
