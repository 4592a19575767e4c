"""The request lifecycle raced over real HTTP (D16, D18, D20, D22, D32, D35).

A multi-process gunicorn, a real chain (anvil) and real payments: for each
request, released together by a barrier, the payer's paste of its hash, a
paste of another request's hash, the partner's cancel and re-verify, the
first view of the pay page and a status poll. No 5xx, only the registry's
refusals, and one consistent state per request with gapless event sequences.
"""

from __future__ import annotations

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from payments.models import PaymentRequest
from tests.chain.conftest import CHAIN_ID, PAYERS, send_token
from tests.factories import make_key
from tests.live import gunicorn
from webhooks.models import WebhookEvent

pytestmark = [pytest.mark.live, pytest.mark.chain]

PR = PaymentRequest
REQUESTS = 8
REFUSALS = {
    "proof_not_accepted",
    "proof_already_used",
    "request_not_cancellable",
    "rpc_error",
    "rpc_unavailable",
}


def _calls(base: str, key: str, pr, tx: str, other_tx: str):
    api = {"Authorization": f"Bearer {key}"}
    pay = f"{base}/pay/{pr.pk}"
    request_api = f"{base}/api/v1/requests/{pr.pk}"
    proof = {"tx_hash": tx, "chain_id": CHAIN_ID}
    wrong = {"tx_hash": other_tx, "chain_id": CHAIN_ID}
    return [
        ("paste", lambda s: s.post(f"{pay}/proof", json=proof)),
        ("paste_other", lambda s: s.post(f"{pay}/proof", json=wrong)),
        ("cancel", lambda s: s.post(f"{request_api}/cancel", headers=api)),
        ("reverify", lambda s: s.post(f"{request_api}/reverify", headers=api)),
        ("view", lambda s: s.get(pay)),
        ("status", lambda s: s.get(f"{pay}/status")),
    ]


def test_every_call_on_a_request_at_once_over_http(
    live_partner, local_chain, w3, usdc, make_request
):
    # live_partner: generous per-key limits; the pay page's per-IP limits
    # (D27: 60 proofs an hour) hold the 16 pastes from this one address.
    key = make_key(live_partner, test_mode=True)
    reqs = [
        make_request(usdc_micro=1_500_000 + i * 1_000 + 9, partner_obj=live_partner)
        for i in range(REQUESTS)
    ]
    hashes = [
        send_token(
            w3, usdc, payer=PAYERS[i % 3], to=pr.receiving_address, value=pr.usdc_micro
        )
        for i, pr in enumerate(reqs)
    ]
    calls = []
    for i, pr in enumerate(reqs):
        calls += _calls("", key, pr, hashes[i], hashes[(i + 1) % REQUESTS])

    with gunicorn(workers=3) as base:
        barrier = threading.Barrier(len(calls))

        def run(call):
            name, fn = call
            with requests.Session() as session:
                session.request = _prefixed(session.request, base)
                barrier.wait(timeout=60)
                answer = fn(session)
                body = (
                    answer.json()
                    if "json" in answer.headers.get("Content-Type", "")
                    else {}
                )
                return name, answer.status_code, body.get("error")

        with ThreadPoolExecutor(max_workers=len(calls)) as pool:
            answers = list(pool.map(run, calls))

    assert [a for a in answers if a[1] >= 500 and a[2] not in REFUSALS] == []
    codes = Counter(a[2] for a in answers if a[2])
    # It raced: some calls were refused (a request cannot take every one).
    assert set(codes) <= REFUSALS, codes
    assert codes, answers
    for pr in reqs:
        row = PR.objects.get(pk=pr.pk)
        events = list(
            WebhookEvent.objects.filter(request_id=pr.pk)
            .order_by("sequence")
            .values_list("type", "sequence")
        )
        assert [s for _, s in events] == list(range(1, len(events) + 1)), events
        assert not (row.cancelled_at and row.verified_at)
        if row.status == "cancelled":
            assert row.proof_status in ("none", "mismatch")
        types = Counter(t for t, _ in events)
        assert types["request.cancelled"] == (row.status == "cancelled")
        assert types["payment.proof_verified"] == (row.proof_status == "verified")


def _prefixed(request, base):
    def call(method, url, *args, **kwargs):
        kwargs.setdefault("timeout", 60)
        return request(method, base + url, *args, **kwargs)

    return call
