"""One check of an attached proof at a time, however it is scheduled (D20, D23, D24).

The re-check of an attached proof is claimed by a compare-and-set on
``next_verify_at`` (``proof_verify_claim``, the beat's ``skip_locked``
claim), and a verdict is applied only while its claim still stands
(``verify._apply``, under the row lock). Forced here on PostgreSQL with
threads on their own connections: the first claimer holds its transaction
open while the second one runs (no sleeps), and a full storm of duplicate
deliveries, a beat tick and a re-verify writes one verdict and one event.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from payments.models import PaymentRequest
from payments.proofs import tasks as tasks_module
from payments.proofs.services import proof_attach, proof_reverify
from payments.proofs.services.checks import proof_verify_claim
from payments.proofs.tasks import recheck_attached_proofs, verify_proof_task
from tests.locks import db_thread, wait_until_blocked
from webhooks.models import WebhookEvent

from .conftest import CHAIN_ID, PAYERS, send_token

pytestmark = [pytest.mark.chain, pytest.mark.django_db(transaction=True)]

PR = PaymentRequest


def _overdue(make_request, n: int = 1) -> list[PaymentRequest]:
    """``n`` attached proofs (random hashes) whose check is a minute overdue."""
    rows = []
    for i in range(n):
        pr = make_request(usdc_micro=9_100_001 + i)
        proof_attach(
            request=pr,
            chain_id=CHAIN_ID,
            tx_hash="0x" + f"{i + 1:02x}" * 32,
            source="customer",
            enqueue=False,
        )
        rows.append(pr)
    PR.objects.filter(pk__in=[pr.pk for pr in rows]).update(
        next_verify_at=timezone.now() - timedelta(minutes=1)
    )
    return [PR.objects.get(pk=pr.pk) for pr in rows]


def _holding(fn, holding: threading.Event, go: threading.Event):
    """``fn`` in a transaction kept open (its row locks held) until ``go``."""

    def run():
        with transaction.atomic():
            result = fn()
            holding.set()
            assert go.wait(20)
        return result

    return run


@pytest.fixture
def sent(monkeypatch) -> list[tuple]:
    """The verify tasks the beat enqueues, instead of the broker."""
    calls: list[tuple] = []
    monkeypatch.setattr(
        tasks_module,
        "enqueue_on_commit",
        lambda task, *args, **kw: calls.append((task.name, *args)),
    )
    return calls


def test_two_deliveries_of_one_check_claim_it_once(local_chain, make_request):
    (pr,) = _overdue(make_request)
    due = pr.next_verify_at
    results, pids = {}, {}
    holding, go = threading.Event(), threading.Event()

    def claim():
        return proof_verify_claim(request_id=pr.pk, due_at=due, now=timezone.now())

    first = db_thread("first", _holding(claim, holding, go), results, pids)
    second = db_thread("second", claim, results, pids)
    first.start()
    assert holding.wait(20), results
    second.start()
    # The second claim waits on the first's row lock, then finds the row
    # claimed: its due token no longer matches.
    wait_until_blocked(second, pids, "second")
    assert second.is_alive(), results
    go.set()
    first.join(20)
    second.join(20)

    assert results["second"] is None
    assert results["first"] is not None
    pr.refresh_from_db()
    assert pr.next_verify_at == results["first"]


def test_overlapping_beats_never_claim_the_same_proof(local_chain, make_request, sent):
    rows = _overdue(make_request, 3)
    results, pids = {}, {}
    holding, go = threading.Event(), threading.Event()

    first = db_thread(
        "first", _holding(recheck_attached_proofs, holding, go), results, pids
    )
    first.start()
    assert holding.wait(20), results
    # The next tick, while the first still holds its rows: it skips them
    # (skip_locked) instead of waiting, and claims nothing.
    second = db_thread("second", recheck_attached_proofs, results, pids)
    second.start()
    second.join(20)
    assert results["second"] == []
    go.set()
    first.join(20)
    # After the first committed, the rows carry its lease: not due again.
    assert recheck_attached_proofs() == []

    assert sorted(results["first"]) == sorted(str(pr.pk) for pr in rows)
    assert sorted(pk for _, pk, _ in sent) == sorted(results["first"])


def test_a_storm_of_checks_writes_one_verdict_and_one_event(
    local_chain, w3, usdc, make_request, sent
):
    """Two deliveries of the same check (Redis redelivering it), a beat tick
    and a re-verify, all at once: one verdict, events numbered 1, 2 (D23)."""
    pr = make_request(usdc_micro=9_200_002)
    tx = send_token(w3, usdc, payer=PAYERS[0], to=pr.receiving_address, value=9_200_002)
    proof_attach(
        request=pr, chain_id=CHAIN_ID, tx_hash=tx, source="customer", enqueue=False
    )
    PR.objects.filter(pk=pr.pk).update(
        next_verify_at=timezone.now() - timedelta(minutes=1)
    )
    token = PR.objects.get(pk=pr.pk).next_verify_at.isoformat()
    start = threading.Barrier(4)

    def at_once(fn):
        def run():
            start.wait(20)
            return fn()

        return run

    results, pids = {}, {}
    threads = [
        db_thread(
            name, at_once(lambda: verify_proof_task(str(pr.pk), token)), results, pids
        )
        for name in ("delivery", "redelivery")
    ]
    threads.append(db_thread("beat", at_once(recheck_attached_proofs), results, pids))
    threads.append(
        db_thread(
            "reverify",
            at_once(lambda: proof_reverify(request=PR.objects.get(pk=pr.pk))),
            results,
            pids,
        )
    )
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    # Whatever the beat claimed runs too (its lease is its due token).
    for _, pk, lease in sent:
        results["beat's check"] = verify_proof_task(pk, lease)

    assert not [r for r in results.values() if isinstance(r, Exception)], results
    pr.refresh_from_db()
    assert (pr.status, pr.proof_status, pr.tx_hash) == ("paid", "verified", tx)
    events = WebhookEvent.objects.filter(request_id=pr.pk).order_by("sequence")
    assert [(e.sequence, e.type) for e in events] == [
        (1, "payment.proof_attached"),
        (2, "payment.proof_verified"),
    ]
