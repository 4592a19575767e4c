"""Every state change of a request at once, many times (D16, D18, D20, D21, D23).

Real threads on their own PostgreSQL connections, released together by a
barrier, against a real chain (anvil): the payer's paste, a merchant pasting
another request's hash, a cancel, the expiry job, the pay page's first view,
proof checks and the chain watcher. Whatever the interleaving, each request
ends in one consistent state, its events are one per transition with gapless
sequences, a hash proves at most one request, and nothing raises but the
registry's refusals.
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from jopay_project.errors import ErrorCode, JoPayError
from payments.chain.watcher import scan_chain
from payments.models import PaymentRequest
from payments.pay.views import _mark_opened
from payments.proofs.services import proof_attach, proof_verify
from payments.services.closing import (
    payment_request_cancel,
    payment_requests_expire_due,
)
from webhooks.models import WebhookEvent

from .conftest import CHAIN_ID, PAYERS, send_token

pytestmark = [pytest.mark.chain, pytest.mark.django_db(transaction=True)]

PR = PaymentRequest
REQUESTS = 6
ROUNDS = 3
REFUSALS = {
    ErrorCode.PROOF_NOT_ACCEPTED,
    ErrorCode.PROOF_ALREADY_USED,
    ErrorCode.REQUEST_NOT_CANCELLABLE,
}


def _run_all(calls):
    barrier = threading.Barrier(len(calls))

    def run(fn):
        try:
            barrier.wait(timeout=30)
            try:
                return fn()
            except JoPayError as exc:
                return exc.code
            except Exception as exc:  # reported by the assertions
                return exc
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def _calls(pr, tx, other_tx, chain):
    soon = timezone.now() + timedelta(seconds=1)
    return [
        lambda: (
            proof_attach(
                request=pr, chain_id=CHAIN_ID, tx_hash=tx, source="customer"
            ).proof_status
        ),
        lambda: (
            proof_attach(
                request=pr, chain_id=CHAIN_ID, tx_hash=other_tx, source="merchant"
            ).proof_status
        ),
        lambda: payment_request_cancel(tenant=pr.tenant, request_id=pr.pk).status,
        lambda: payment_requests_expire_due(now=soon),
        lambda: _mark_opened(PR.objects.get(pk=pr.pk)),
        lambda: proof_verify(request_id=pr.pk).outcome,
        lambda: len(scan_chain(chain).attached),
    ]


def _check(pr) -> None:
    row = PR.objects.get(pk=pr.pk)
    events = list(
        WebhookEvent.objects.filter(request_id=pr.pk)
        .order_by("sequence")
        .values_list("type", "sequence")
    )
    assert [s for _, s in events] == list(range(1, len(events) + 1)), events
    types = Counter(t for t, _ in events)
    assert types["request.cancelled"] <= 1
    assert types["request.expired"] <= 1
    assert types["payment.proof_verified"] <= 1
    # Never both cancelled and paid; every state reached was announced.
    assert not (row.cancelled_at and row.verified_at), events
    if row.status == "cancelled":
        assert types["request.cancelled"] == 1
        assert row.proof_status in ("none", "mismatch"), events
        assert events[-1][0] in ("request.cancelled", "payment.proof_mismatch")
    if row.proof_status == "verified":
        assert row.status == "paid"
        assert events[-1][0] == "payment.proof_verified"
    if row.proof_status == "attached":
        assert events[-1][0] == "payment.proof_attached", events
    if row.proof_status == "mismatch":
        assert "payment.proof_mismatch" in types
    if row.status == "expired":
        assert types["request.expired"] == 1
    if row.proof_status != "none":
        assert types["payment.proof_attached"] >= 1


def test_every_change_of_a_request_at_once_leaves_one_consistent_state(
    local_chain, w3, usdc, make_request
):
    local_chain.last_scanned_block = w3.eth.block_number
    local_chain.save()
    outcomes: Counter = Counter()
    for round_ in range(ROUNDS):
        requests = []
        for i in range(REQUESTS):
            amount = 3_000_000 + round_ * 10_000 + i * 1_000 + 7
            # Some expire as the storm starts: the expiry job has work too.
            expires = timedelta(seconds=1) if i % 3 == 0 else timedelta(hours=1)
            requests.append(make_request(usdc_micro=amount, expires_in=expires))
        hashes = [
            send_token(
                w3,
                usdc,
                payer=PAYERS[i % len(PAYERS)],
                to=pr.receiving_address,
                value=pr.usdc_micro,
            )
            for i, pr in enumerate(requests)
        ]
        calls = []
        for i, pr in enumerate(requests):
            calls += _calls(pr, hashes[i], hashes[(i + 1) % REQUESTS], local_chain)
        results = _run_all(calls)
        unexpected = [
            r
            for r in results
            if isinstance(r, Exception)
            or (isinstance(r, ErrorCode) and r not in REFUSALS)
        ]
        assert unexpected == [], unexpected
        outcomes.update(str(r) for r in results)
        # Then the checks still owed run to their end.
        for pr in requests:
            proof_verify(request_id=pr.pk)
        for pr in requests:
            _check(pr)
        verified = PR.objects.filter(
            pk__in=[p.pk for p in requests], proof_status="verified"
        ).values_list("tx_hash", flat=True)
        assert len(verified) == len(set(verified))
    # The storm really raced: refusals of both kinds happened.
    assert outcomes[ErrorCode.PROOF_NOT_ACCEPTED] > 0, outcomes
