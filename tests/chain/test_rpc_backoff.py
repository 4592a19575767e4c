"""RPC trouble backs a proof's checks off by failures in a row (D20).

``rpc_backoff`` counts failed tries: 15 s after the first, then 30 s, 1, 2, 5
and 10 minutes. A proof is checked often while it waits for its receipt and
its confirmations (each check counts in ``verify_attempts``), so a node's
first blip after those checks must not count them as failures: it pushed the
next check 10 minutes away (8 to 12 with jitter), and a customer whose payment
was seconds from verified waited on "Verifying payment…" that long.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from payments.chain.devnode import free_port
from payments.chain.rpc import RpcUnavailable
from payments.models import PaymentRequest
from payments.proofs.services import proof_attach, proof_verify

from .conftest import CHAIN_ID, PAYERS, mine, send_token

pytestmark = pytest.mark.chain

PR = PaymentRequest


@pytest.fixture
def waiting(local_chain, w3, usdc, make_request):
    """A paid proof checked five times while it waits for 3 confirmations."""
    local_chain.confirmations = 3
    local_chain.save()
    pr = make_request(usdc_micro=8_200_003)
    tx = send_token(w3, usdc, payer=PAYERS[0], to=pr.receiving_address, value=8_200_003)
    proof_attach(request=pr, chain_id=CHAIN_ID, tx_hash=tx, source="customer")
    for _ in range(5):
        assert proof_verify(request_id=pr.pk).outcome == "pending"
    pr.refresh_from_db()
    assert pr.verify_attempts == 5
    return pr


def _fail_once(pr, chain) -> timedelta:
    """One check with the node down: how long until the next one."""
    urls = chain.rpc_urls
    chain.rpc_urls = [f"http://127.0.0.1:{free_port()}"]  # nothing listens
    chain.save()
    now = timezone.now()
    with pytest.raises(RpcUnavailable):
        proof_verify(request_id=pr.pk, now=now)
    chain.rpc_urls = urls
    chain.save()
    pr.refresh_from_db()
    assert pr.proof_status == "attached"  # D20: never a verdict from a dead node
    return pr.next_verify_at - now


def test_a_first_rpc_failure_after_pending_checks_waits_the_first_backoff(
    waiting, local_chain
):
    wait = _fail_once(waiting, local_chain)

    assert timedelta(seconds=12) <= wait <= timedelta(seconds=18)  # 15 s ± 20 %


def test_failures_in_a_row_back_off_and_an_answer_starts_again(
    waiting, local_chain, anvil
):
    first = _fail_once(waiting, local_chain)
    with time_machine.travel(waiting.next_verify_at, tick=False):
        second = _fail_once(waiting, local_chain)
    assert first <= timedelta(seconds=18)
    assert timedelta(seconds=24) <= second <= timedelta(seconds=36)  # 30 s ± 20 %

    # The node answers again (still pending): the next blip is a first again.
    assert proof_verify(request_id=waiting.pk).outcome == "pending"
    assert _fail_once(waiting, local_chain) <= timedelta(seconds=18)

    mine(anvil, 2)
    assert proof_verify(request_id=waiting.pk).outcome == "verified"


def test_the_runbook_states_the_backoff():
    # OPERATIONS.md said a proof was "checked again every 30 s" while a node
    # was down: after a long outage an operator waited for a check due up to
    # 12 minutes later, with no word of re-verify.
    from pathlib import Path

    from payments.proofs.services.checks import RPC_BACKOFF

    text = (Path(__file__).resolve().parents[2] / "docs/OPERATIONS.md").read_text()
    section = text.split("## A chain's RPC node is down")[1].split("\n## ")[0]
    words = " ".join(section.split())
    assert RPC_BACKOFF == (15, 30, 60, 120, 300, 600)
    assert "15 s, 30 s, 1, 2 and 5 min" in words
    assert "then every 10 min (each ±20 %)" in words
    assert "reverify" in words
    assert "every 30 s" not in words
