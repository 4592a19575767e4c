"""A wrong hash attached never loses the real payment (D16, D20, D21).

While a proof is ``attached`` the watcher passes the request over; when that
proof ends in ``mismatch`` the request's own window is read once more
(``payments.rescan_request``) and the real transfer is attached and verified.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from payments.chain.rescan import rescan_chains_for, rescan_request_window
from payments.chain.watcher import scan_chain
from payments.models import Chain, PaymentRequest, RequestRescan
from payments.proofs.services import proof_attach, proof_verify
from payments.proofs.services.rescans import rescan_args
from payments.proofs.tasks import rescan_request_task

from .conftest import CHAIN_ID, PAYERS, event_types, mine, new_wallet, send_token

pytestmark = pytest.mark.chain

PR = PaymentRequest
RANDOM_HASH = "0x" + "5e" * 32  # a hash nothing was mined under (a speed-up's)


def enqueued(callbacks) -> list[tuple[str, tuple]]:
    """(task name, args) of the ``enqueue_on_commit`` callbacks captured."""
    return [(cb.task_name, cb.args) for cb in callbacks if hasattr(cb, "task_name")]


def _mismatch_after_timeout(pr, django_capture_on_commit_callbacks):
    pr.refresh_from_db()
    with django_capture_on_commit_callbacks() as callbacks:
        result = proof_verify(
            request_id=pr.pk, now=pr.proof_attached_at + timedelta(minutes=31)
        )
    return result, enqueued(callbacks)


@pytest.mark.parametrize("pasted", ["unknown_hash", "someone_elses_transfer"])
def test_a_wrong_hash_attached_does_not_lose_the_real_payment(
    cursor_at_head,
    anvil,
    w3,
    usdc,
    make_request,
    django_capture_on_commit_callbacks,
    pasted,
):
    pr = make_request(usdc_micro=7_300_001)
    # Given the customer pays, but the pay page gets a wrong hash: one nothing
    # was mined under (a replaced speed-up), or another payment's.
    wrong = RANDOM_HASH
    if pasted == "someone_elses_transfer":
        wrong = send_token(w3, usdc, payer=PAYERS[1], to=new_wallet(), value=5)
    proof_attach(request=pr, chain_id=CHAIN_ID, tx_hash=wrong, source="customer")
    real = send_token(
        w3, usdc, payer=PAYERS[0], to=pr.receiving_address, value=7_300_001
    )
    # The watcher reads the real transfer while the wrong proof is attached,
    # passes the request over, and its cursor moves on.
    assert scan_chain(cursor_at_head).attached == []
    mine(anvil, 20)
    scan_chain(Chain.objects.get(pk=CHAIN_ID))

    # When the wrong proof ends in mismatch …
    if pasted == "unknown_hash":
        result, tasks = _mismatch_after_timeout(pr, django_capture_on_commit_callbacks)
        assert result.reason == "not_found_after_timeout"
    else:
        with django_capture_on_commit_callbacks() as callbacks:
            result = proof_verify(request_id=pr.pk)
        tasks = enqueued(callbacks)
        assert result.reason == "wrong_recipient"
    # … a rescan of the request's window is owed with it (a row, D20) and
    # enqueued on commit, …
    assert ("payments.rescan_request", rescan_args(pr.pk, CHAIN_ID)) in tasks
    assert rescan_chains_for(pr.pk) == [CHAIN_ID]
    assert RequestRescan.objects.filter(request=pr, chain_id=CHAIN_ID).exists()
    # … which finds the real payment and pays the request.
    assert rescan_request_task.apply(args=(str(pr.pk), CHAIN_ID)).get() == "verified"

    pr.refresh_from_db()
    assert (pr.proof_status, pr.status) == ("verified", "paid")
    assert (pr.tx_hash, pr.proof_source) == (real, "trails_on_chain")
    assert not RequestRescan.objects.filter(request=pr).exists()  # nothing owed
    assert event_types(pr) == [
        "payment.proof_attached",
        "payment.proof_mismatch",
        "payment.proof_attached",
        "payment.proof_verified",
    ]


def test_a_second_rescan_changes_nothing(
    cursor_at_head, w3, usdc, make_request, django_capture_on_commit_callbacks
):
    pr = make_request(usdc_micro=7_400_003)
    proof_attach(request=pr, chain_id=CHAIN_ID, tx_hash=RANDOM_HASH, source="customer")
    send_token(w3, usdc, payer=PAYERS[0], to=pr.receiving_address, value=7_400_003)
    _mismatch_after_timeout(pr, django_capture_on_commit_callbacks)
    assert rescan_request_window(request_id=pr.pk, chain_id=CHAIN_ID).outcome == (
        "verified"
    )
    pr.refresh_from_db()
    before = (pr.updated_at, pr.verify_attempts, event_types(pr))

    again = rescan_request_window(request_id=pr.pk, chain_id=CHAIN_ID)

    assert again.outcome == "skipped"
    assert rescan_chains_for(pr.pk) == []
    pr.refresh_from_db()
    assert (pr.updated_at, pr.verify_attempts, event_types(pr)) == before


def test_a_rescan_only_takes_the_exact_amount_inside_the_window(
    cursor_at_head,
    w3,
    usdc,
    wrong_token,
    make_request,
    django_capture_on_commit_callbacks,
):
    wallet = new_wallet()
    # An old deposit of the exact amount, mined before the request existed.
    send_token(w3, usdc, payer=PAYERS[0], to=wallet, value=7_500_007)
    block = w3.eth.get_block("latest")
    block_at = datetime.fromtimestamp(block["timestamp"], tz=UTC)
    pr = make_request(
        usdc_micro=7_500_007,
        receiving_address=wallet,
        created_at=block_at + timedelta(minutes=10),
        expires_at=block_at + timedelta(hours=1),
    )
    proof_attach(request=pr, chain_id=CHAIN_ID, tx_hash=RANDOM_HASH, source="customer")
    # A tag off by one, and the exact amount in another token.
    send_token(w3, usdc, payer=PAYERS[0], to=wallet, value=7_500_006)
    send_token(w3, wrong_token, payer=PAYERS[0], to=wallet, value=7_500_007)
    _mismatch_after_timeout(pr, django_capture_on_commit_callbacks)

    result = rescan_request_window(request_id=pr.pk, chain_id=CHAIN_ID)
    twice = rescan_request_window(request_id=pr.pk, chain_id=CHAIN_ID)

    assert (result.outcome, twice.outcome) == ("not_found", "not_found")
    pr.refresh_from_db()
    assert (pr.proof_status, pr.tx_hash) == ("mismatch", RANDOM_HASH)
    assert event_types(pr) == ["payment.proof_attached", "payment.proof_mismatch"]


def test_a_rescan_never_takes_a_hash_that_proves_another_request(
    cursor_at_head, w3, usdc, make_request, django_capture_on_commit_callbacks
):
    # Two requests on one wallet and amount (D15 forbids it; forced here) …
    paid = make_request(usdc_micro=7_600_009)
    other = make_request(usdc_micro=7_600_009, receiving_address=paid.receiving_address)
    tx = send_token(
        w3, usdc, payer=PAYERS[0], to=paid.receiving_address, value=7_600_009
    )
    proof_attach(request=paid, chain_id=CHAIN_ID, tx_hash=tx, source="customer")
    assert proof_verify(request_id=paid.pk).outcome == "verified"
    proof_attach(
        request=other, chain_id=CHAIN_ID, tx_hash=RANDOM_HASH, source="customer"
    )
    _mismatch_after_timeout(other, django_capture_on_commit_callbacks)

    result = rescan_request_window(request_id=other.pk, chain_id=CHAIN_ID)

    # … the transfer is the verified proof of the first: D20, one request per hash.
    assert result.outcome == "not_found"
    other.refresh_from_db()
    assert (other.proof_status, other.tx_hash) == ("mismatch", RANDOM_HASH)
    paid.refresh_from_db()
    assert (paid.proof_status, paid.tx_hash) == ("verified", tx)


def test_a_long_window_is_read_in_bounded_runs(
    cursor_at_head, anvil, w3, usdc, make_request, django_capture_on_commit_callbacks
):
    pr = make_request(usdc_micro=7_700_011)
    proof_attach(request=pr, chain_id=CHAIN_ID, tx_hash=RANDOM_HASH, source="customer")
    mine(anvil, 40)
    send_token(w3, usdc, payer=PAYERS[2], to=pr.receiving_address, value=7_700_011)
    _mismatch_after_timeout(pr, django_capture_on_commit_callbacks)

    first = rescan_request_window(
        request_id=pr.pk, chain_id=CHAIN_ID, max_blocks=20, chunk_blocks=7
    )

    assert first.outcome == "continued"
    assert first.next_from_block == first.from_block + 20
    runs = 1
    result = first
    while result.outcome == "continued":
        result = rescan_request_window(
            request_id=pr.pk,
            chain_id=CHAIN_ID,
            from_block=result.next_from_block,
            to_block=result.to_block,
            max_blocks=20,
            chunk_blocks=7,
        )
        runs += 1
    assert result.outcome == "verified"
    assert runs >= 2
    pr.refresh_from_db()
    assert (pr.proof_status, pr.status) == ("verified", "paid")


def test_the_window_starts_at_the_first_block_of_the_request(
    local_chain, anvil, w3, usdc, make_request
):
    from payments.chain.matching import first_block_at_or_after
    from payments.chain.rpc import ChainClient

    client = ChainClient(local_chain)
    head = w3.eth.block_number
    stamps = [
        w3.eth.get_block(n)["timestamp"] for n in range(max(head - 5, 0), head + 1)
    ]
    target = stamps[-3]

    found = first_block_at_or_after(client, target, head=head)

    assert w3.eth.get_block(found)["timestamp"] >= target
    assert found == 0 or w3.eth.get_block(found - 1)["timestamp"] < target
    assert first_block_at_or_after(client, stamps[-1] + 10_000, head=head) == head + 1


def test_a_message_without_a_chain_owes_a_rescan_on_each_chain_of_the_request(
    local_chain, make_request, django_capture_on_commit_callbacks
):
    """The message form from before rescans had rows still works (it fans out)."""
    pr = make_request(proof_status=PR.ProofStatus.MISMATCH, tx_hash=RANDOM_HASH)
    paid = make_request(proof_status=PR.ProofStatus.VERIFIED, status=PR.Status.PAID)
    live = make_request(test_mode=False, proof_status=PR.ProofStatus.MISMATCH)

    with django_capture_on_commit_callbacks() as callbacks:
        for request in (pr, paid, live):
            rescan_request_task.apply(args=(str(request.pk),)).get()

    # D19: the local chain pays test-mode requests only; a paid one is left alone.
    assert enqueued(callbacks) == [
        ("payments.rescan_request", rescan_args(pr.pk, CHAIN_ID))
    ]
    assert list(RequestRescan.objects.values_list("request_id", "chain_id")) == [
        (pr.pk, CHAIN_ID)
    ]


def test_a_rescan_reads_at_least_as_far_as_the_watcher_has(
    local_chain, w3, make_request
):
    # The watcher read (and passed over) blocks up to its cursor from a node
    # ahead of the one the rescan asks; the rescan must not stop at its own
    # head, or the blocks in between are read by neither.
    pr = make_request(proof_status=PR.ProofStatus.MISMATCH, tx_hash=RANDOM_HASH)
    head = w3.eth.block_number
    local_chain.last_scanned_block = head + 25
    local_chain.save()

    result = rescan_request_window(request_id=pr.pk, chain_id=CHAIN_ID)

    assert result.to_block == head + 25
    assert result.outcome == "continued"
    assert result.next_from_block == head + 1  # once this node holds them
