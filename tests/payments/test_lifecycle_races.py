"""Concurrency audit of the request lifecycle (D15-D18, D23, D24).

Each test forces its interleaving with threads on their own database
connections, released by barriers or events (no sleeps).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from jopay_project.errors import ErrorCode, JoPayError
from jopay_project.tenancy import Tenant
from payments.chain.verify import Verdict
from payments.models import PaymentRequest
from payments.proofs.services import proof_attach
from payments.proofs.services.verify import _apply
from payments.services import tags
from payments.services.closing import (
    payment_request_cancel,
    payment_requests_expire_due,
)
from payments.services.requests import PaymentRequestDraft, payment_request_create
from tests.factories import MerchantFactory, PartnerFactory
from tests.locks import db_thread, wait_until_blocked
from tests.payments.test_amounts import BASE_2500_EUR, seed
from tests.portal.conftest import chain as chain_fixture  # noqa: F401 (a fixture)
from tests.portal.conftest import make_request
from webhooks.models import WebhookEvent
from webhooks.services import events as events_module

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("rates", "chain_fixture"),
]


def _race(calls):
    barrier = threading.Barrier(len(calls))

    def run(fn):
        try:
            barrier.wait(timeout=20)
            try:
                return fn()
            except JoPayError as exc:
                return exc.code
            except Exception as exc:
                return exc
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def _creator(merchant):
    def make():
        request, _ = payment_request_create(
            tenant=Tenant(partner=merchant.partner, test_mode=merchant.test_mode),
            draft=PaymentRequestDraft(
                merchant=merchant, fiat_int=2500, fiat_code="EUR"
            ),
        )
        return request.usdc_micro

    return make


def test_concurrent_creates_at_one_wallet_across_partners_and_modes_never_share_a_tag(
    monkeypatch,
):
    """D15: every create draws the same start tag; only the lock keeps them apart."""
    monkeypatch.setattr(tags.secrets, "randbelow", lambda _n: 0)
    merchants = [
        MerchantFactory(partner=PartnerFactory(), test_mode=bool(i % 2))
        for i in range(4)
    ]
    results = _race([_creator(merchants[i % 4]) for i in range(12)])
    assert all(isinstance(r, int) for r in results), results
    assert len(set(results)) == 12
    rows = list(PaymentRequest.objects.values_list("usdc_micro", flat=True))
    assert sorted(rows) == sorted(results)


def test_the_last_free_tags_go_to_exactly_as_many_racing_creates(merchant):
    """D15: with 3 tags left, 8 racing creates make 3 requests and 5
    ``amount_unavailable``; never a duplicate, never a 5xx."""
    seed(merchant, range(3, 1000))
    results = _race([_creator(merchant) for _ in range(8)])
    made = [r for r in results if isinstance(r, int)]
    assert sorted(made) == [BASE_2500_EUR, BASE_2500_EUR + 1, BASE_2500_EUR + 2], (
        results
    )
    assert [r for r in results if not isinstance(r, int)] == [
        ErrorCode.AMOUNT_UNAVAILABLE
    ] * 5, results


# --- D16/D18/D23: two state changes of one request, interleaved ----------------
#
# ``first`` runs in a thread and stops inside its transaction right after
# writing its event; ``second`` then starts on another connection, and
# ``first`` commits only once ``second`` waits on a lock (or has finished: a
# SKIP LOCKED expiry). Both outcomes, the final state and the request's events
# are checked: one event per transition, sequences 1, 2, … in commit order.

PR = PaymentRequest
H1, H2 = "0x" + "a1" * 32, "0x" + "b2" * 32
LATER = timedelta(hours=2)


def _interleave(monkeypatch, first, second):
    held, release = threading.Event(), threading.Event()
    holder: list[threading.Thread] = []
    original = events_module._after_emit

    def after_emit(event):
        original(event)
        if holder and threading.current_thread() is holder[0] and not held.is_set():
            held.set()
            assert release.wait(20)

    monkeypatch.setattr(events_module, "_after_emit", after_emit)
    results: dict[str, object] = {}
    pids: dict[str, int] = {}

    def run(name, fn):
        return db_thread(name, fn, results, pids)

    one, two = run("first", first), run("second", second)
    holder.append(one)
    one.start()
    assert held.wait(10), results
    two.start()
    wait_until_blocked(two, pids, "second")
    release.set()
    one.join(20)
    two.join(20)
    return results["first"], results["second"]


def _events(request):
    return list(
        WebhookEvent.objects.filter(request_id=request.pk)
        .order_by("sequence")
        .values_list("type", "sequence")
    )


def _cancel(request):
    tenant = Tenant(partner=request.partner, test_mode=request.test_mode)
    return lambda: payment_request_cancel(tenant=tenant, request_id=request.pk).status


def _expire(now=None):
    return lambda: payment_requests_expire_due(now=now or timezone.now() + LATER)


def _attach(request, tx=H1, chain_id=31337, source="customer"):
    return lambda: (
        proof_attach(
            request=request, chain_id=chain_id, tx_hash=tx, source=source, enqueue=False
        ).proof_status
    )


def _verdict(request, outcome, tx=H1):
    verdict = (
        Verdict(
            "verified",
            evidence={
                "block_number": 7,
                "block_hash": "0x" + "0c" * 32,
                "log_index": 0,
                "token_address": "0x5FbDB2315678afecb367f032d93F642f64180aa3",
                "value_micro": str(request.usdc_micro),
                "confirmations": 1,
            },
        )
        if outcome == "verified"
        else Verdict("mismatch", "underpaid")
    )
    return lambda: (
        _apply(
            request.pk, chain_id=31337, tx_hash=tx, verdict=verdict, now=timezone.now()
        ).outcome
    )


def _attached(test_merchant, **fields):
    return make_request(
        test_merchant,
        proof_status=PR.ProofStatus.ATTACHED,
        chain_id=31337,
        tx_hash=H1,
        proof_source="customer",
        proof_attached_at=timezone.now(),
        **fields,
    )


def test_cancel_then_expiry(monkeypatch, test_merchant):
    request = make_request(test_merchant)
    assert _interleave(monkeypatch, _cancel(request), _expire()) == ("cancelled", 0)
    assert payment_requests_expire_due(now=timezone.now() + LATER) == 0
    assert PR.objects.get(pk=request.pk).status == "cancelled"
    assert _events(request) == [("request.cancelled", 1)]


def test_expiry_then_cancel(monkeypatch, test_merchant):
    request = make_request(
        test_merchant, expires_at=timezone.now() + timedelta(seconds=2)
    )
    first, second = _interleave(
        monkeypatch, _expire(timezone.now() + timedelta(seconds=3)), _cancel(request)
    )
    assert (first, second) == (1, ErrorCode.REQUEST_NOT_CANCELLABLE)
    assert PR.objects.get(pk=request.pk).status == "expired"
    assert _events(request) == [("request.expired", 1)]


def test_cancel_then_cancel(monkeypatch, test_merchant):
    request = make_request(test_merchant)
    assert _interleave(monkeypatch, _cancel(request), _cancel(request)) == (
        "cancelled",
        "cancelled",
    )
    assert _events(request) == [("request.cancelled", 1)]


def test_cancel_then_attach(monkeypatch, test_merchant):
    request = make_request(test_merchant)
    assert _interleave(monkeypatch, _cancel(request), _attach(request)) == (
        "cancelled",
        ErrorCode.PROOF_NOT_ACCEPTED,
    )
    assert _events(request) == [("request.cancelled", 1)]


def test_attach_then_cancel(monkeypatch, test_merchant):
    request = make_request(test_merchant)
    assert _interleave(monkeypatch, _attach(request), _cancel(request)) == (
        "attached",
        ErrorCode.REQUEST_NOT_CANCELLABLE,
    )
    assert PR.objects.get(pk=request.pk).status == "requested"
    assert _events(request) == [("payment.proof_attached", 1)]


def test_expiry_then_attach_within_the_grace(monkeypatch, test_merchant):
    request = make_request(
        test_merchant, expires_at=timezone.now() - timedelta(minutes=1)
    )
    first, second = _interleave(monkeypatch, _expire(timezone.now()), _attach(request))
    assert (first, second) == (1, "attached")
    row = PR.objects.get(pk=request.pk)
    assert (row.status, row.proof_status) == ("expired", "attached")
    assert _events(request) == [("request.expired", 1), ("payment.proof_attached", 2)]


def test_attach_then_expiry(monkeypatch, test_merchant):
    request = make_request(
        test_merchant, expires_at=timezone.now() - timedelta(minutes=1)
    )
    assert _interleave(monkeypatch, _attach(request), _expire(timezone.now())) == (
        "attached",
        0,
    )
    assert payment_requests_expire_due() == 0  # D16: never while attached
    assert _events(request) == [("payment.proof_attached", 1)]


def test_verify_then_cancel(monkeypatch, test_merchant):
    request = _attached(test_merchant)
    assert _interleave(
        monkeypatch, _verdict(request, "verified"), _cancel(request)
    ) == (
        "verified",
        ErrorCode.REQUEST_NOT_CANCELLABLE,
    )
    row = PR.objects.get(pk=request.pk)
    assert (row.status, row.proof_status) == ("paid", "verified")
    assert _events(request) == [("payment.proof_verified", 1)]


def test_verify_then_expiry_then_verify_again(monkeypatch, test_merchant):
    request = _attached(test_merchant, expires_at=timezone.now() - timedelta(minutes=1))
    assert _interleave(
        monkeypatch, _verdict(request, "verified"), _expire(timezone.now())
    ) == ("verified", 0)
    assert _verdict(request, "verified")() == "skipped"
    assert payment_requests_expire_due() == 0
    assert PR.objects.get(pk=request.pk).status == "paid"
    assert _events(request) == [("payment.proof_verified", 1)]


def test_two_verdicts_apply_once(monkeypatch, test_merchant):
    request = _attached(test_merchant)
    assert _interleave(
        monkeypatch, _verdict(request, "mismatch"), _verdict(request, "verified")
    ) == ("mismatch", "skipped")
    assert _events(request) == [("payment.proof_mismatch", 1)]


def test_mismatch_then_attach_another_hash_then_cancel(monkeypatch, test_merchant):
    request = _attached(test_merchant)
    assert _interleave(
        monkeypatch, _verdict(request, "mismatch"), _attach(request, tx=H2)
    ) == ("mismatch", "attached")
    assert _events(request) == [
        ("payment.proof_mismatch", 1),
        ("payment.proof_attached", 2),
    ]
    with pytest.raises(JoPayError):
        _cancel(request)()


def test_attach_then_watcher_attach(monkeypatch, test_merchant):
    request = make_request(test_merchant)
    watcher = _attach(request, tx=H2, source="trails_on_chain")
    assert _interleave(monkeypatch, _attach(request), watcher) == (
        "attached",
        ErrorCode.PROOF_NOT_ACCEPTED,
    )
    assert PR.objects.get(pk=request.pk).tx_hash == H1
    assert _events(request) == [("payment.proof_attached", 1)]


# --- D17 replay at a full price (D15) -------------------------------------------


def _keyed_creator(merchant, key="replay-" + "k" * 20):
    def make():
        request, created = payment_request_create(
            tenant=Tenant(partner=merchant.partner, test_mode=merchant.test_mode),
            draft=PaymentRequestDraft(
                merchant=merchant,
                fiat_int=2500,
                fiat_code="EUR",
                idempotency_key=key,
                idempotency_hash="h" * 64,
            ),
        )
        return request.pk, created

    return make


def test_concurrent_retries_that_take_the_last_tag_replay_not_amount_unavailable(
    merchant,
):
    """D17: same key + same body → the original, even under concurrent retries,
    also when its create took the wallet's last free tag at that price (D15):
    the retry's INSERT finds no tag before it finds the key taken."""
    seed(merchant, range(1, 1000))
    results = _race([_keyed_creator(merchant) for _ in range(4)])
    original = PaymentRequest.objects.get(idempotency_key__isnull=False)
    assert (
        sorted(results, key=lambda r: not r[1])
        == [(original.pk, True)] + [(original.pk, False)] * 3
    ), results


def test_a_retry_after_the_last_tag_was_taken_replays(merchant):
    seed(merchant, range(1, 1000))
    first = _keyed_creator(merchant)()
    assert first[1] is True
    assert _keyed_creator(merchant)() == (first[0], False)
