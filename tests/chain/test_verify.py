"""Proof verification against a real anvil node (D16, D20, D23)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from payments.chain.rpc import ChainClient, RpcUnavailable
from payments.chain.verify import from_micro, to_micro, verify_transfer, window_start
from payments.chain.watcher import scan_chain
from payments.models import PaymentRequest
from payments.models.requests import PROOF_GRACE
from payments.proofs.services import proof_attach, proof_verify
from webhooks.models import WebhookEvent

from .conftest import CHAIN_ID, MINT_MICRO, PAYERS, mine, new_wallet, send_token

pytestmark = pytest.mark.chain

PR = PaymentRequest
CUSTOMER = PR.ProofSource.CUSTOMER


def events(pr):
    return list(WebhookEvent.objects.filter(request_id=pr.pk).order_by("sequence"))


def attach(pr, tx_hash, **kw):
    return proof_attach(
        request=pr, chain_id=CHAIN_ID, tx_hash=tx_hash, source=CUSTOMER, **kw
    )


def test_exact_payment_verifies_with_events_and_evidence(
    local_chain, w3, usdc, make_request, django_capture_on_commit_callbacks
):
    pr = make_request(usdc_micro=25_000_123)
    tx = send_token(
        w3, usdc, payer=PAYERS[0], to=pr.receiving_address, value=25_000_123
    )
    receipt = w3.eth.get_transaction_receipt(tx)

    with django_capture_on_commit_callbacks() as callbacks:
        attached = attach(pr, tx)
    assert attached.proof_status == PR.ProofStatus.ATTACHED
    assert len(callbacks) == 1  # payments.verify_proof enqueued after commit

    result = proof_verify(request_id=pr.pk)

    assert result.outcome == "verified"
    pr.refresh_from_db()
    assert pr.proof_status == PR.ProofStatus.VERIFIED
    assert pr.status == PR.Status.PAID
    assert pr.verified_at is not None
    assert pr.payer_address == PAYERS[0]
    assert pr.overpaid_micro == 0
    assert pr.evidence["block_number"] == receipt["blockNumber"]
    assert pr.evidence["block_hash"] == "0x" + bytes(receipt["blockHash"]).hex()
    assert pr.evidence["token_address"] == usdc.address  # EIP-55
    assert pr.evidence["value_micro"] == "25000123"
    assert pr.evidence["confirmations"] == 1
    assert isinstance(pr.evidence["log_index"], int)
    attached_ev, verified_ev = events(pr)
    assert (attached_ev.type, attached_ev.sequence) == ("payment.proof_attached", 1)
    assert (verified_ev.type, verified_ev.sequence) == ("payment.proof_verified", 2)
    assert attached_ev.payload["proof_status"] == "attached"
    assert attached_ev.payload["tx_hash"] == tx
    payload = verified_ev.payload
    assert payload["proof_status"] == "verified"
    assert payload["proof_source"] == "customer"
    assert payload["chain_id"] == CHAIN_ID
    assert payload["payer_address"] == PAYERS[0]
    # D23 / D34 evidence types.
    assert payload["block_number"] == receipt["blockNumber"]
    assert payload["value_micro"] == "25000123"
    assert payload["token_address"] == usdc.address
    assert payload["confirmations"] == 1
    assert payload["block_hash"] == pr.evidence["block_hash"]


def test_overpayment_is_accepted_and_recorded(local_chain, w3, usdc, make_request):
    pr = make_request(usdc_micro=10_000_001)
    tx = send_token(
        w3, usdc, payer=PAYERS[0], to=pr.receiving_address, value=10_500_001
    )
    attach(pr, tx)

    assert proof_verify(request_id=pr.pk).outcome == "verified"
    pr.refresh_from_db()
    assert pr.overpaid_micro == 500_000
    assert pr.evidence["value_micro"] == "10500001"


def test_another_requests_exact_payment_cannot_pay_a_smaller_request(
    local_chain, w3, usdc, make_request
):
    """D15/D20: B's customer pays B's exact amount to the shared wallet; anyone
    watching the wallet pastes that hash on A's page before the watcher has
    attached it. As an "overpayment" it marked A paid with B's money, and the
    hash (one request only) then locked B's real payment out for good."""
    local_chain.last_scanned_block = w3.eth.block_number
    local_chain.save()
    small = make_request(usdc_micro=5_000_111)
    big = make_request(
        usdc_micro=500_000_222, receiving_address=small.receiving_address
    )
    tx = send_token(
        w3, usdc, payer=PAYERS[0], to=big.receiving_address, value=500_000_222
    )
    attach(small, tx)

    verdict = proof_verify(request_id=small.pk)

    assert (verdict.outcome, verdict.reason) == ("mismatch", "wrong_recipient")
    scan_chain(local_chain)  # the hash freed itself: the watcher pays B with it
    small.refresh_from_db()
    big.refresh_from_db()
    assert (small.status, small.proof_status) != ("paid", "verified")
    assert (big.status, big.proof_status, big.tx_hash) == ("paid", "verified", tx)


def test_a_payment_the_watcher_passed_over_while_pasted_elsewhere_is_found(
    local_chain, anvil, w3, usdc, make_request, django_capture_on_commit_callbacks
):
    """With more than one confirmation A's verdict comes after the watcher has
    read the block: it refused B's own payment to B (A held the hash) and moved
    on. A's mismatch frees the hash and owes B a rescan, which pays B."""
    from payments.chain.rescan import rescan_request_window
    from payments.models import RequestRescan

    local_chain.confirmations = 3
    local_chain.last_scanned_block = w3.eth.block_number
    local_chain.save()
    small = make_request(usdc_micro=5_000_111)
    big = make_request(
        usdc_micro=500_000_222, receiving_address=small.receiving_address
    )
    tx = send_token(
        w3, usdc, payer=PAYERS[0], to=big.receiving_address, value=500_000_222
    )
    attach(small, tx)
    assert proof_verify(request_id=small.pk).outcome == "pending"
    scan_chain(local_chain)  # B refused: A holds the hash
    mine(anvil, 10)
    scan_chain(local_chain)

    with django_capture_on_commit_callbacks(execute=False):
        assert proof_verify(request_id=small.pk).reason == "wrong_recipient"

    assert RequestRescan.objects.filter(request=big).exists()
    assert rescan_request_window(request_id=big.pk, chain_id=CHAIN_ID).outcome == (
        "verified"
    )
    big.refresh_from_db()
    assert (big.status, big.tx_hash) == ("paid", tx)


def test_an_overpayment_nobody_else_awaits_still_pays(
    local_chain, w3, usdc, make_request
):
    """The same transfer pays as an overpayment (D20) once the request that
    awaited exactly its amount is closed: nobody else's payment is taken."""
    small = make_request(usdc_micro=5_000_111)
    other = make_request(
        usdc_micro=500_000_222, receiving_address=small.receiving_address
    )
    PaymentRequest.objects.filter(pk=other.pk).update(
        status=PaymentRequest.Status.CANCELLED
    )
    tx = send_token(
        w3, usdc, payer=PAYERS[0], to=small.receiving_address, value=500_000_222
    )
    attach(small, tx)

    assert proof_verify(request_id=small.pk).outcome == "verified"
    small.refresh_from_db()
    assert small.overpaid_micro == 495_000_111


def test_a_payment_mined_before_its_request_was_cancelled_pays_no_other_request(
    local_chain, w3, usdc, make_request
):
    """D15, D18, D20: A's customer paid A's exact amount while A was open; the
    partner cancelled A before the watcher attached it (a node outage, or the
    15 s between scans). That transfer was A's payment when it was mined, so
    pasted on B (a smaller request at the same wallet) it is not B's
    overpayment: B is not marked paid with A's customer's money."""
    from payments.services.closing import payment_request_cancel

    small = make_request(usdc_micro=5_000_111)
    other = make_request(
        usdc_micro=500_000_222, receiving_address=small.receiving_address
    )
    tx = send_token(
        w3, usdc, payer=PAYERS[0], to=small.receiving_address, value=500_000_222
    )
    cancelled = payment_request_cancel(tenant=other.tenant, request_id=other.pk)
    assert cancelled.status == PR.Status.CANCELLED
    attach(small, tx)

    verdict = proof_verify(request_id=small.pk)

    assert (verdict.outcome, verdict.reason) == ("mismatch", "wrong_recipient")
    small.refresh_from_db()
    assert (small.status, small.proof_status) == ("requested", "mismatch")
    assert [e.type for e in events(small)] == [
        "payment.proof_attached",
        "payment.proof_mismatch",
    ]


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("underpaid", "underpaid"),
        ("wrong_recipient", "wrong_recipient"),
        ("wrong_token", "wrong_token"),
        ("tx_failed", "tx_failed"),
    ],
)
def test_mismatches_have_the_right_reason(
    case, reason, local_chain, w3, usdc, wrong_token, make_request
):
    pr = make_request(usdc_micro=5_000_777)
    amount, to, token, extra = 5_000_777, pr.receiving_address, usdc, {}
    if case == "underpaid":
        amount -= 1
    elif case == "wrong_recipient":
        to = new_wallet()
    elif case == "wrong_token":
        token = wrong_token
    elif case == "tx_failed":
        # More than the payer holds: reverts. Explicit gas, so web3 does not
        # estimate (and refuse) it first; the reverted tx is mined (status 0).
        amount, extra = MINT_MICRO * 10, {"gas": 100_000}
    tx = send_token(w3, token, payer=PAYERS[1], to=to, value=amount, **extra)
    if case == "tx_failed":
        assert w3.eth.get_transaction_receipt(tx)["status"] == 0
    attach(pr, tx)

    result = proof_verify(request_id=pr.pk)

    assert (result.outcome, result.reason) == ("mismatch", reason)
    pr.refresh_from_db()
    assert pr.proof_status == PR.ProofStatus.MISMATCH
    assert pr.mismatch_reason == reason
    assert pr.status == PR.Status.REQUESTED  # a mismatch does not pay
    assert [e.type for e in events(pr)] == [
        "payment.proof_attached",
        "payment.proof_mismatch",
    ]
    assert events(pr)[1].payload["mismatch_reason"] == reason


def test_transfer_mined_after_expiry_plus_grace_is_late(
    local_chain, anvil, w3, usdc, make_request
):
    # Expired five minutes ago: proofs are still accepted (D16 grace) …
    now = timezone.now()
    pr = make_request(
        usdc_micro=7_000_003,
        expires_at=now - timedelta(minutes=5),
        status=PR.Status.EXPIRED,
    )
    # … but the transfer is mined a minute after expires_at + grace (D20).
    late_ts = int((pr.expires_at + PROOF_GRACE + timedelta(minutes=1)).timestamp())
    anvil.rpc("evm_setNextBlockTimestamp", [late_ts])
    tx = send_token(w3, usdc, payer=PAYERS[0], to=pr.receiving_address, value=7_000_003)
    attach(pr, tx)

    result = proof_verify(request_id=pr.pk)

    assert (result.outcome, result.reason) == ("mismatch", "late")
    pr.refresh_from_db()
    assert pr.status == PR.Status.EXPIRED


def test_payment_within_grace_verifies_and_pays_an_expired_request(
    local_chain, w3, usdc, make_request
):
    now = timezone.now()
    pr = make_request(
        usdc_micro=7_100_003,
        expires_at=now - timedelta(minutes=2),
        status=PR.Status.EXPIRED,
        expired_at=now,
    )
    tx = send_token(w3, usdc, payer=PAYERS[0], to=pr.receiving_address, value=7_100_003)
    attach(pr, tx)

    assert proof_verify(request_id=pr.pk).outcome == "verified"
    pr.refresh_from_db()
    assert pr.status == PR.Status.PAID  # D16: expired → paid when verified late
    assert pr.proof_status == PR.ProofStatus.VERIFIED


def test_not_enough_confirmations_stays_attached_until_mined(
    local_chain, anvil, w3, usdc, make_request
):
    local_chain.confirmations = 3
    local_chain.save()
    pr = make_request(usdc_micro=3_000_001)
    tx = send_token(w3, usdc, payer=PAYERS[2], to=pr.receiving_address, value=3_000_001)
    attach(pr, tx)

    first = proof_verify(request_id=pr.pk)

    assert (first.outcome, first.reason) == ("pending", "confirmations")
    pr.refresh_from_db()
    assert pr.proof_status == PR.ProofStatus.ATTACHED
    assert pr.next_verify_at > timezone.now()
    assert [e.type for e in events(pr)] == ["payment.proof_attached"]

    mine(anvil, 2)
    assert proof_verify(request_id=pr.pk).outcome == "verified"
    pr.refresh_from_db()
    assert pr.evidence["confirmations"] == 3


def test_unknown_hash_is_pending_then_not_found_after_30_minutes(
    local_chain, make_request
):
    pr = make_request()
    unknown = "0x" + "ab" * 32
    attach(pr, unknown)

    assert proof_verify(request_id=pr.pk).reason == "no_receipt"
    pr.refresh_from_db()
    assert pr.proof_status == PR.ProofStatus.ATTACHED

    later = pr.proof_attached_at + timedelta(minutes=30, seconds=1)
    result = proof_verify(request_id=pr.pk, now=later)

    assert (result.outcome, result.reason) == ("mismatch", "not_found_after_timeout")


def test_node_down_leaves_proof_attached_and_it_verifies_when_back(
    local_chain, anvil, w3, usdc, make_request
):
    from payments.chain.devnode import free_port

    pr = make_request(usdc_micro=4_000_009)
    tx = send_token(w3, usdc, payer=PAYERS[0], to=pr.receiving_address, value=4_000_009)
    attach(pr, tx)
    local_chain.rpc_urls = [f"http://127.0.0.1:{free_port()}"]  # nothing listens there
    local_chain.save()

    with pytest.raises(RpcUnavailable):
        proof_verify(request_id=pr.pk)

    pr.refresh_from_db()
    assert pr.proof_status == PR.ProofStatus.ATTACHED  # never mismatch: D20
    assert pr.verify_attempts == 1
    assert pr.next_verify_at > timezone.now()
    assert [e.type for e in events(pr)] == ["payment.proof_attached"]

    local_chain.rpc_urls = [anvil.url]
    local_chain.save()
    assert proof_verify(request_id=pr.pk).outcome == "verified"


def test_client_fails_over_to_the_next_rpc_url(
    local_chain, anvil, w3, usdc, make_request
):
    from payments.chain.devnode import free_port

    dead = f"http://127.0.0.1:{free_port()}"
    local_chain.rpc_urls = [dead, anvil.url]
    local_chain.save()
    pr = make_request(usdc_micro=4_100_009)
    tx = send_token(w3, usdc, payer=PAYERS[0], to=pr.receiving_address, value=4_100_009)
    attach(pr, tx)
    client = ChainClient(local_chain)

    assert proof_verify(request_id=pr.pk, client=client).outcome == "verified"
    assert client.used_url == anvil.url


def test_verifying_twice_writes_nothing_the_second_time(
    local_chain, w3, usdc, make_request
):
    pr = make_request(usdc_micro=9_000_001)
    tx = send_token(w3, usdc, payer=PAYERS[0], to=pr.receiving_address, value=9_000_001)
    attach(pr, tx)
    assert proof_verify(request_id=pr.pk).outcome == "verified"
    pr.refresh_from_db()
    before = (pr.updated_at, pr.verify_attempts, len(events(pr)))

    again = proof_verify(request_id=pr.pk)

    assert again.outcome == "skipped"
    pr.refresh_from_db()
    assert (pr.updated_at, pr.verify_attempts, len(events(pr))) == before


def test_verify_transfer_is_read_only_and_scales_decimals(
    local_chain, w3, usdc, make_request
):
    pr = make_request(usdc_micro=1_234_567)
    tx = send_token(w3, usdc, payer=PAYERS[0], to=pr.receiving_address, value=1_234_567)

    verdict = verify_transfer(
        ChainClient(local_chain),
        local_chain,
        tx,
        receiving_address=pr.receiving_address,
        usdc_micro=1_234_567,
        not_before=window_start(pr.created_at),
        deadline=pr.proof_deadline,
    )

    assert verdict.outcome == "verified"
    pr.refresh_from_db()
    assert pr.proof_status == PR.ProofStatus.NONE


@pytest.mark.parametrize(
    ("value", "decimals", "micro"),
    [
        (25_000_123, 6, 25_000_123),
        (25_000_123 * 10**12 + 999, 18, 25_000_123),
        (25_000_123 * 10**12 - 1, 18, 25_000_122),
        (2_500, 2, 25_000_000),
    ],
)
def test_token_units_scale_to_micro_usdc_rounding_down(value, decimals, micro):
    # D19: an 18-decimals hair below the amount floors below it too.
    assert to_micro(value, decimals) == micro


def test_amount_in_token_units_never_underpays():
    assert from_micro(25_000_123, 18) == 25_000_123 * 10**12
    assert from_micro(25_000_123, 6) == 25_000_123
    assert from_micro(25_000_123, 2) == 2_501  # rounded up for coarse tokens


class _ForkedReceipts:
    """A real node, except that its receipts name another block hash than the
    block at their height (a reorg between the two calls, a stale fork)."""

    def __init__(self, client: ChainClient):
        self.client = client

    def receipt(self, tx_hash):
        return {**self.client.receipt(tx_hash), "blockHash": "0x" + "ab" * 32}

    def head(self):
        return self.client.head()

    def block(self, number):
        return self.client.block(number)


def test_a_receipt_from_another_fork_gives_no_verdict(
    local_chain, w3, usdc, make_request
):
    pr = make_request(usdc_micro=1_234_567)
    tx = send_token(w3, usdc, payer=PAYERS[0], to=pr.receiving_address, value=1_234_567)
    window = {"not_before": window_start(pr.created_at), "deadline": pr.proof_deadline}
    args = (local_chain, tx)
    kwargs = {"receiving_address": pr.receiving_address, "usdc_micro": 1_234_567}

    forked = verify_transfer(
        _ForkedReceipts(ChainClient(local_chain)), *args, **kwargs, **window
    )
    assert (forked.outcome, forked.evidence) == ("pending", {})
    assert (
        verify_transfer(ChainClient(local_chain), *args, **kwargs, **window).outcome
        == "verified"
    )


def test_a_receipt_only_ever_from_another_fork_times_out_like_no_receipt(
    local_chain, w3, usdc, make_request
):
    # D20: a node that keeps answering a receipt whose block is not the
    # chain's block at that height (a stale fork behind a balancer) shows the
    # transaction on no chain we can verify. It counts as "no receipt", so the
    # 30-minute timeout applies; it had kept the proof attached for ever,
    # never expiring, never cancellable, the hash locked to this request.
    pr = make_request(usdc_micro=1_234_568)
    tx = send_token(w3, usdc, payer=PAYERS[0], to=pr.receiving_address, value=1_234_568)
    attach(pr, tx)
    pr.refresh_from_db()
    forked = _ForkedReceipts(ChainClient(local_chain))

    early = proof_verify(
        request_id=pr.pk, client=forked, now=pr.proof_attached_at + timedelta(minutes=5)
    )
    assert (early.outcome, early.reason) == ("pending", "no_receipt")
    late = pr.proof_attached_at + timedelta(minutes=30, seconds=1)
    result = proof_verify(request_id=pr.pk, client=forked, now=late)
    assert result.outcome == "mismatch"
    pr.refresh_from_db()
    assert (pr.proof_status, pr.mismatch_reason) == (
        "mismatch",
        "not_found_after_timeout",
    )
    assert [e.type for e in events(pr)] == [
        "payment.proof_attached",
        "payment.proof_mismatch",
    ]
