"""Two payments whose hashes were pasted the wrong way round, judged at once (D20).

One payer paid requests A and B and pasted B's hash on A and A's on B. Each
proof ends in ``wrong_recipient`` and frees a hash that is the other
request's payment, so each verdict owes the other request a rescan, in its
own transaction (``verify._apply``). Forced with two threads on their own
database connections, released by events (no sleeps).
"""

from __future__ import annotations

import threading

import pytest

from payments.models import PaymentRequest, RequestRescan
from payments.proofs.services import proof_attach, proof_verify
from payments.proofs.services import verify as verify_module
from tests.locks import db_thread, wait_until_blocked

from .conftest import CHAIN_ID, PAYERS, event_types, send_token

pytestmark = [pytest.mark.chain, pytest.mark.django_db(transaction=True)]

PR = PaymentRequest


def test_two_swapped_hashes_judged_at_once_owe_both_rescans_without_a_deadlock(
    local_chain, w3, usdc, make_request, monkeypatch
):
    """Each verdict holds its own request's row and writes a rescan row for
    the other request. Both locked their rows FOR UPDATE, which the rescan
    row's foreign key check (KEY SHARE) has to wait for, and each wrote its
    own rescan row before the other's: two waits in a circle, and PostgreSQL
    killed one check (``deadlock detected``) — a 500 to a re-verify."""
    local_chain.last_scanned_block = w3.eth.block_number
    local_chain.save()
    a = make_request(usdc_micro=2_000_043)
    b = make_request(usdc_micro=2_100_047)
    pays_a = send_token(
        w3, usdc, payer=PAYERS[0], to=a.receiving_address, value=2_000_043
    )
    pays_b = send_token(
        w3, usdc, payer=PAYERS[0], to=b.receiving_address, value=2_100_047
    )
    for pr, tx in ((a, pays_b), (b, pays_a)):
        proof_attach(
            request=pr, chain_id=CHAIN_ID, tx_hash=tx, source="customer", enqueue=False
        )

    results: dict = {}
    pids: dict = {}
    holding, go = threading.Event(), threading.Event()
    original = verify_module.rescans_schedule

    def run(name, pr):
        return db_thread(
            name, lambda: proof_verify(request_id=pr.pk).outcome, results, pids
        )

    first, second = run("a", a), run("b", b)

    def rescans_schedule(*, request, **kwargs):
        done = original(request=request, **kwargs)
        if threading.current_thread() is first and not holding.is_set():
            holding.set()  # its own row's rescan written, the other's next
            assert go.wait(20)
        return done

    monkeypatch.setattr(verify_module, "rescans_schedule", rescans_schedule)
    first.start()
    try:
        assert holding.wait(20), results
        second.start()
        wait_until_blocked(second, pids, "b")
    finally:
        go.set()
        first.join(30)
        second.join(30)

    assert results == {"a": "mismatch", "b": "mismatch"}, results
    for pr in (a, b):
        row = PR.objects.get(pk=pr.pk)
        assert (row.proof_status, row.mismatch_reason) == (
            "mismatch",
            "wrong_recipient",
        )
        assert event_types(pr) == ["payment.proof_attached", "payment.proof_mismatch"]
        # Each is owed its rescan: its own mismatch, and the other's freed hash.
        assert RequestRescan.objects.filter(request=pr, chain_id=CHAIN_ID).exists()


def test_a_freed_hash_pasted_on_its_own_request_during_the_verdict_attaches(
    local_chain, w3, usdc, make_request, monkeypatch
):
    """A's proof is B's payment X; as A's verdict frees X, B's payer pastes X
    on B. The paste holds B's row and waits for A's verdict (X's index entry
    is still A's until it commits); the verdict owes B a rescan, whose
    foreign key check waited for B's row, locked FOR UPDATE by the paste: a
    deadlock. B's row is now locked FOR NO KEY UPDATE, as A's is."""
    local_chain.last_scanned_block = w3.eth.block_number
    local_chain.save()
    a = make_request(usdc_micro=2_200_051)
    b = make_request(usdc_micro=2_300_053)
    x = send_token(w3, usdc, payer=PAYERS[1], to=b.receiving_address, value=2_300_053)
    proof_attach(
        request=a, chain_id=CHAIN_ID, tx_hash=x, source="customer", enqueue=False
    )

    results: dict = {}
    pids: dict = {}
    holding, go = threading.Event(), threading.Event()
    original = verify_module.rescans_schedule

    def rescans_schedule(*, request, **kwargs):
        if threading.current_thread() is verdict and not holding.is_set():
            holding.set()  # A is mismatch (uncommitted), no rescan row yet
            assert go.wait(20)
        return original(request=request, **kwargs)

    def paste():
        return proof_attach(
            request=b, chain_id=CHAIN_ID, tx_hash=x, source="customer", enqueue=False
        ).proof_status

    monkeypatch.setattr(verify_module, "rescans_schedule", rescans_schedule)
    verdict, payer = (
        db_thread(
            "verdict", lambda: proof_verify(request_id=a.pk).outcome, results, pids
        ),
        db_thread("paste", paste, results, pids),
    )
    verdict.start()
    try:
        assert holding.wait(20), results
        payer.start()
        wait_until_blocked(payer, pids, "paste")
    finally:
        go.set()
        verdict.join(30)
        payer.join(30)

    assert results == {"verdict": "mismatch", "paste": "attached"}, results
    assert PR.objects.get(pk=b.pk).tx_hash == x
    assert event_types(a) == ["payment.proof_attached", "payment.proof_mismatch"]
    assert event_types(b) == ["payment.proof_attached"]
