"""A re-verify racing a new proof of the same request (D16, D20, D35).

The re-verify reads the request (its proof ``mismatch``) and re-attaches that
proof; a paste of the real payment commits in between. Forced with a thread
holding the paste's transaction open (no sleeps).
"""

from __future__ import annotations

import threading
import time

import pytest
from django.db import connection

from payments.models import PaymentRequest
from payments.proofs.services import proof_attach, proof_reverify
from tests.locks import waiting_on_a_lock
from webhooks.services import events as events_module

from .conftest import CHAIN_ID, PAYERS, event_types, send_token

pytestmark = [pytest.mark.chain, pytest.mark.django_db(transaction=True)]

PR = PaymentRequest
WRONG = "0x" + "cd" * 32


def test_a_reverify_that_read_a_mismatch_checks_the_proof_attached_since(
    local_chain, w3, usdc, make_request, monkeypatch
):
    """D35: a re-verify returns the request, re-checked. Read as ``mismatch``
    (a wrong hash pasted), then the payer pastes the real one: the re-verify's
    re-attach of the stale hash found a proof being checked and answered 409
    ``proof_not_accepted``, an answer no order of the two calls gives (run
    after the paste, a re-verify checks the attached proof)."""
    pr = make_request(usdc_micro=4_000_041)
    PR.objects.filter(pk=pr.pk).update(
        proof_status="mismatch",
        chain_id=CHAIN_ID,
        tx_hash=WRONG,
        proof_source="customer",
        mismatch_reason="not_found_after_timeout",
    )
    stale = PR.objects.get(pk=pr.pk)
    tx = send_token(w3, usdc, payer=PAYERS[0], to=pr.receiving_address, value=4_000_041)

    held, release = threading.Event(), threading.Event()
    results: dict = {}
    original = events_module._after_emit

    def after_emit(event):
        original(event)
        if threading.current_thread() is payer and not held.is_set():
            held.set()
            assert release.wait(20)

    def paste():
        try:
            results["payer"] = proof_attach(
                request=pr,
                chain_id=CHAIN_ID,
                tx_hash=tx,
                source="customer",
                enqueue=False,
            ).proof_status
        except Exception as exc:  # reported by the assertions
            results["payer"] = exc
        finally:
            connection.close()

    monkeypatch.setattr(events_module, "_after_emit", after_emit)
    payer = threading.Thread(target=paste)
    payer.start()
    assert held.wait(20)

    def reverify():
        connection.ensure_connection()
        results["pid"] = connection.connection.info.backend_pid
        try:
            results["reverify"] = proof_reverify(request=stale)
        except Exception as exc:  # reported by the assertions
            results["reverify"] = exc
        finally:
            connection.close()

    checker = threading.Thread(target=reverify)
    checker.start()
    deadline = time.monotonic() + 10
    while not ("pid" in results and waiting_on_a_lock(results["pid"])):
        assert checker.is_alive(), results
        assert time.monotonic() < deadline, results
        time.sleep(0.01)
    release.set()
    payer.join(20)
    checker.join(30)

    assert results["payer"] == "attached", results
    fresh = results["reverify"]
    assert isinstance(fresh, PR), results
    assert (fresh.tx_hash, fresh.proof_status, fresh.status) == (tx, "verified", "paid")
    assert event_types(pr) == ["payment.proof_attached", "payment.proof_verified"]
