"""Verdicts racing re-attaches of the same hash (D16, D20, D21, D23), forced.

Each test runs one side in a thread on its own database connection and stops
it at a hook point (events, no sleeps) while the other side runs.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from payments.chain import matching as chunk_module  # the watcher's apply_chunk
from payments.chain.verify import Verdict
from payments.chain.watcher import scan_chain
from payments.models import PaymentRequest
from payments.proofs.services import proof_attach, proof_reverify, proof_verify
from payments.proofs.services import verify as verify_module
from payments.proofs.tasks import verify_proof_task
from tests.locks import wait_until_blocked

from .conftest import CHAIN_ID, PAYERS, event_types, send_token

pytestmark = [pytest.mark.chain, pytest.mark.django_db(transaction=True)]

PR = PaymentRequest
WRONG = "0x" + "ab" * 32


def _thread(results: dict, name: str, fn) -> threading.Thread:
    def target():
        try:
            results[name] = fn()
        except Exception as exc:  # reported by the test's assertions
            results[name] = exc
        finally:
            connection.close()

    return threading.Thread(target=target, name=name)


def test_a_background_verdict_read_before_a_reverify_reattached_the_hash_is_dropped(
    local_chain, anvil, usdc, make_request, monkeypatch
):
    """D20/D23: a verdict belongs to the attachment it was read for.

    The background check reads "no receipt" (the payment is still in the
    mempool) and stalls before applying it. Meanwhile a re-verify judges
    ``not_found_after_timeout``, the payment is mined, and a second re-verify
    attaches the same hash again (keeping its attach time, D35) and finds it
    paid. The stale "no receipt", applied to the new attachment, would judge
    it ``not_found_after_timeout`` at once and the re-verify's own check
    would be skipped: a paid request answered as a mismatch.
    """
    now = timezone.now()
    pr = make_request(usdc_micro=7_000_017, created_at=now - timedelta(minutes=40))
    anvil.rpc("evm_setAutomine", [False])
    try:
        sent = usdc.functions.transfer(pr.receiving_address, 7_000_017).transact(
            {"from": PAYERS[0]}
        )
        tx = "0x" + bytes(sent).hex()
        attached = proof_attach(
            request=pr,
            chain_id=CHAIN_ID,
            tx_hash=tx,
            source="customer",
            now=now - timedelta(minutes=31),
            enqueue=False,
        )
        token = attached.next_verify_at.isoformat()

        results: dict = {}
        background = _thread(
            results, "background", lambda: verify_proof_task(str(pr.pk), token)
        )
        holding, go = threading.Event(), threading.Event()
        mine_checks: list[Verdict] = []
        original = verify_module._apply

        def apply(*args, **kwargs):
            if threading.current_thread() is background:
                holding.set()
                assert go.wait(20)
            else:
                mine_checks.append(kwargs["verdict"])
                if len(mine_checks) == 2:
                    # The second re-verify has re-attached and read the chain:
                    # the stalled background verdict lands first.
                    go.set()
                    background.join(20)
            return original(*args, **kwargs)

        monkeypatch.setattr(verify_module, "_apply", apply)
        background.start()
        assert holding.wait(20), results
        assert verify_module.proof_verify is proof_verify

        first = proof_reverify(request=PR.objects.get(pk=pr.pk))
        assert (first.proof_status, first.mismatch_reason) == (
            "mismatch",
            "not_found_after_timeout",
        )
        anvil.rpc("evm_mine")
    finally:
        anvil.rpc("evm_setAutomine", [True])

    second = proof_reverify(request=first)
    go.set()
    background.join(20)

    assert [v.reason for v in mine_checks] == ["no_receipt", None]
    assert results["background"] == "skipped"
    assert (second.proof_status, second.status) == ("verified", "paid")
    assert event_types(pr) == [
        "payment.proof_attached",
        "payment.proof_mismatch",
        "payment.proof_attached",
        "payment.proof_verified",
    ]


def test_the_watcher_never_reattaches_a_hash_judged_between_its_match_and_its_lock(
    local_chain, w3, usdc, make_request, monkeypatch
):
    """D21: a hash already judged for a request is not attached to it again.

    The watcher matches the transfer to a request whose proof is still free
    and stops before locking it; the payer pastes the same hash, which is
    judged a mismatch (here ``late``: as a receipt re-mined past the window
    after a reorg reads). The watcher then must not attach it a second time
    (an extra attached/mismatch pair of events).
    """
    local_chain.last_scanned_block = w3.eth.block_number
    local_chain.save()
    pr = make_request(usdc_micro=8_000_019)
    monkeypatch.setattr(
        verify_module,
        "verify_transfer",
        lambda *args, **kwargs: Verdict("mismatch", "late", confirmations=1),
    )
    # A wrong hash pasted and judged first: the request is a candidate again,
    # and is owed a rescan (its row exists; the next mismatch only updates it).
    proof_attach(
        request=pr, chain_id=CHAIN_ID, tx_hash=WRONG, source="customer", enqueue=False
    )
    assert proof_verify(request_id=pr.pk).outcome == "mismatch"
    tx = send_token(w3, usdc, payer=PAYERS[0], to=pr.receiving_address, value=8_000_019)
    results: dict = {}
    scan = _thread(results, "watcher", lambda: scan_chain(local_chain))
    matched, go = threading.Event(), threading.Event()
    original = chunk_module.match_transfer

    def match(*args, **kwargs):
        found = original(*args, **kwargs)
        if threading.current_thread() is scan and found is not None:
            matched.set()
            assert go.wait(20)
        return found

    monkeypatch.setattr(chunk_module, "match_transfer", match)
    scan.start()
    try:
        assert matched.wait(20), results
        proof_attach(
            request=pr, chain_id=CHAIN_ID, tx_hash=tx, source="customer", enqueue=False
        )
        assert proof_verify(request_id=pr.pk).outcome == "mismatch"
    finally:
        go.set()
        scan.join(20)

    assert results["watcher"].attached == []
    pr.refresh_from_db()
    assert (pr.proof_status, pr.proof_source, pr.mismatch_reason) == (
        "mismatch",
        "customer",
        "late",
    )
    assert event_types(pr) == [
        "payment.proof_attached",
        "payment.proof_mismatch",
        "payment.proof_attached",
        "payment.proof_mismatch",
    ]


def test_a_first_mismatch_while_the_watcher_holds_its_chunk_never_deadlocks(
    local_chain, w3, usdc, make_request, monkeypatch
):
    """House rule: tasks run concurrently. The watcher's chunk locks its chain
    row, then request rows; a mismatch verdict locks the request row, then
    inserts the request's first rescan row, whose foreign key share-locks the
    chain row. With the chain row locked FOR UPDATE the two waited on each
    other and PostgreSQL killed one (``deadlock detected``)."""
    local_chain.last_scanned_block = w3.eth.block_number
    local_chain.save()
    pr = make_request(usdc_micro=8_000_023)
    tx = send_token(w3, usdc, payer=PAYERS[0], to=pr.receiving_address, value=8_000_023)
    monkeypatch.setattr(
        verify_module,
        "verify_transfer",
        lambda *args, **kwargs: Verdict("mismatch", "late", confirmations=1),
    )
    results: dict = {}
    pids: dict = {}
    scan = _thread(results, "watcher", lambda: scan_chain(local_chain))
    matched, go = threading.Event(), threading.Event()
    original = chunk_module.match_transfer

    def match(*args, **kwargs):
        found = original(*args, **kwargs)
        if threading.current_thread() is scan and found is not None:
            matched.set()
            assert go.wait(20)
        return found

    def pasted():
        connection.ensure_connection()
        pids["payer"] = connection.connection.info.backend_pid
        proof_attach(
            request=pr, chain_id=CHAIN_ID, tx_hash=tx, source="customer", enqueue=False
        )
        return proof_verify(request_id=pr.pk).outcome

    monkeypatch.setattr(chunk_module, "match_transfer", match)
    scan.start()
    payer = _thread(results, "payer", pasted)
    try:
        assert matched.wait(20), results
        payer.start()
        wait_until_blocked(payer, pids, "payer")
    finally:
        go.set()
        scan.join(20)
        payer.join(20)

    assert results["payer"] == "mismatch", results
    assert results["watcher"].attached == [], results
    assert event_types(pr) == ["payment.proof_attached", "payment.proof_mismatch"]
