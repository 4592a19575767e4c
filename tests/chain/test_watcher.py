"""The chain watcher on anvil (D15, D21, D34, D36): unannounced payments get found."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from payments.chain.devnode import free_port
from payments.chain.watcher import CHUNK_BLOCKS, scan_chain, watch_chains
from payments.models import Chain, PaymentRequest
from payments.models.requests import PROOF_GRACE
from payments.proofs.tasks import watch_chains_task

from .conftest import CHAIN_ID, PAYERS, event_types, mine, send_token

pytestmark = pytest.mark.chain

PR = PaymentRequest


def head(w3) -> int:
    return w3.eth.block_number


def test_watcher_attaches_and_verifies_an_unannounced_payment(
    cursor_at_head, w3, usdc, make_request
):
    pr = make_request(usdc_micro=12_345_678)
    tx = send_token(
        w3, usdc, payer=PAYERS[0], to=pr.receiving_address, value=12_345_678
    )

    result = scan_chain(cursor_at_head)

    assert result.attached == [str(pr.pk)]
    assert result.verified == [str(pr.pk)]
    pr.refresh_from_db()
    assert pr.proof_source == "trails_on_chain"
    assert pr.tx_hash == tx
    assert (pr.proof_status, pr.status) == ("verified", "paid")
    assert event_types(pr) == ["payment.proof_attached", "payment.proof_verified"]
    assert Chain.objects.get(pk=cursor_at_head.pk).last_scanned_block == head(w3)


def test_second_run_changes_nothing(cursor_at_head, w3, usdc, make_request):
    pr = make_request(usdc_micro=12_345_679)
    # Another open request keeps the wallet watched after the first is paid.
    make_request(usdc_micro=12_345_680, receiving_address=pr.receiving_address)
    send_token(w3, usdc, payer=PAYERS[0], to=pr.receiving_address, value=12_345_679)
    scan_chain(cursor_at_head)
    pr.refresh_from_db()
    before = (pr.updated_at, len(event_types(pr)))

    again = scan_chain(Chain.objects.get(pk=cursor_at_head.pk))

    # The reorg margin re-reads the last block, and the log is seen again …
    assert again.logs == 1
    # … but nothing is attached twice.
    assert again.attached == []
    pr.refresh_from_db()
    assert (pr.updated_at, len(event_types(pr))) == before


def test_watcher_ignores_other_amounts_tokens_and_modes(
    cursor_at_head, w3, usdc, wrong_token, make_request
):
    exact = make_request(usdc_micro=3_000_555)
    live = make_request(usdc_micro=3_000_666, test_mode=False)
    send_token(w3, usdc, payer=PAYERS[0], to=exact.receiving_address, value=3_000_554)
    send_token(
        w3, wrong_token, payer=PAYERS[0], to=exact.receiving_address, value=3_000_555
    )
    # D19: a local chain never pays a live request, even with the exact amount.
    send_token(w3, usdc, payer=PAYERS[0], to=live.receiving_address, value=3_000_666)

    result = scan_chain(cursor_at_head)

    assert result.attached == []
    for pr in (exact, live):
        pr.refresh_from_db()
        assert pr.proof_status == "none"


def test_watcher_matches_the_exact_tagged_amount_among_several(
    cursor_at_head, w3, usdc, make_request
):
    # D15: same wallet, amounts that differ only in the sub-0.001 tag.
    first = make_request(usdc_micro=20_000_001)
    second = make_request(
        usdc_micro=20_000_002, receiving_address=first.receiving_address
    )
    send_token(w3, usdc, payer=PAYERS[1], to=first.receiving_address, value=20_000_002)

    result = scan_chain(cursor_at_head)

    assert result.attached == [str(second.pk)]
    first.refresh_from_db()
    assert first.proof_status == "none"


def test_first_scan_of_a_new_chain_starts_at_head_minus_margin(
    local_chain, anvil, w3, usdc, make_request
):
    # D34: never at genesis. A payment deep in the past is not picked up.
    old = make_request(usdc_micro=1_000_001)
    send_token(w3, usdc, payer=PAYERS[0], to=old.receiving_address, value=1_000_001)
    mine(anvil, 5)
    assert local_chain.last_scanned_block is None

    result = scan_chain(local_chain)

    assert result.from_block == head(w3) - local_chain.confirmations
    assert result.to_block == head(w3)
    assert result.attached == []
    assert Chain.objects.get(pk=local_chain.pk).last_scanned_block == head(w3)


def test_a_chain_configured_while_no_rpc_answered_is_read_from_that_time(
    local_chain, anvil, w3, usdc, make_request
):
    # D34: the head *at configuration time*. Configured while its RPC was
    # down, the chain had no cursor; the first scan started at the head it
    # found then, and payments made in between were never found.
    Chain.objects.filter(pk=local_chain.pk).update(
        watch_from=timezone.now() - timedelta(seconds=1)
    )
    pr = make_request(usdc_micro=1_000_003)
    send_token(w3, usdc, payer=PAYERS[0], to=pr.receiving_address, value=1_000_003)
    mine(anvil, 5)

    result = scan_chain(Chain.objects.get(pk=local_chain.pk))

    assert result.from_block < head(w3) - local_chain.confirmations
    assert result.attached == [str(pr.pk)]


def test_configure_chain_without_an_answering_rpc_records_when(db):
    from payments.chain.registry import chain_configure

    before = timezone.now()
    dead = chain_configure(
        chain_id=777_003,
        name="Down",
        rpc_urls=["http://127.0.0.1:9"],
        usdc_address="0x5FbDB2315678afecb367f032d93F642f64180aa3",
        is_local=True,
    )
    assert dead.chain.last_scanned_block is None
    assert dead.chain.watch_from >= before


def test_long_ranges_are_read_in_chunks_and_the_cursor_persists(
    local_chain, anvil, w3, usdc, make_request
):
    local_chain.last_scanned_block = head(w3)
    local_chain.save()
    pr = make_request(usdc_micro=8_888_001)
    send_token(w3, usdc, payer=PAYERS[2], to=pr.receiving_address, value=8_888_001)
    mine(anvil, 130)

    # Small chunks stand in for CHUNK_BLOCKS (2000): anvil mines thousands slowly.
    result = scan_chain(local_chain, chunk_blocks=50)

    assert result.chunks == 3
    assert CHUNK_BLOCKS <= 2000  # what public RPCs accept per eth_getLogs (D21)
    assert result.attached == [str(pr.pk)]
    assert Chain.objects.get(pk=local_chain.pk).last_scanned_block == head(w3)


def test_a_transfer_mined_after_the_grace_is_never_attached(
    cursor_at_head, anvil, w3, usdc, make_request
):
    from django.utils import timezone

    from payments.proofs.services import proof_attach, proof_verify

    pr = make_request(
        usdc_micro=5_500_001,
        expires_at=timezone.now() - timedelta(minutes=5),
        status=PR.Status.EXPIRED,
    )
    late = int((pr.expires_at + PROOF_GRACE + timedelta(minutes=1)).timestamp())
    anvil.rpc("evm_setNextBlockTimestamp", [late])
    tx = send_token(w3, usdc, payer=PAYERS[0], to=pr.receiving_address, value=5_500_001)
    # The payer pastes it within the grace; judged by block time it is late.
    proof_attach(request=pr, chain_id=31337, tx_hash=tx, source="customer")
    assert proof_verify(request_id=pr.pk).reason == "late"

    first = scan_chain(cursor_at_head)
    second = scan_chain(Chain.objects.get(pk=cursor_at_head.pk))

    # D20: the watcher judges the window by block time too, so a transfer mined
    # after expires_at + grace is no candidate at all: nothing attached again.
    assert (first.attached, second.attached) == ([], [])
    pr.refresh_from_db()
    assert (pr.proof_status, pr.mismatch_reason) == ("mismatch", "late")
    assert event_types(pr) == ["payment.proof_attached", "payment.proof_mismatch"]


def test_watch_chains_skips_unconfigured_and_survives_a_dead_chain(
    cursor_at_head, w3, usdc, make_request
):
    Chain.objects.create(
        chain_id=31338,
        name="Dead local",
        is_local=True,
        usdc_address=usdc.address,
        confirmations=1,
        rpc_urls=[f"http://127.0.0.1:{free_port()}"],
    )
    pr = make_request(usdc_micro=4_400_001)
    send_token(w3, usdc, payer=PAYERS[0], to=pr.receiving_address, value=4_400_001)

    results = {r.chain_id: r for r in watch_chains()}

    # The seeded defaults have no RPC URLs (D19): not scanned at all.
    assert set(results) == {31337, 31338}
    assert results[31338].skipped == "rpc_unavailable"
    assert results[31337].verified == [str(pr.pk)]


def test_watch_chains_task_reports_per_chain(cursor_at_head, w3, usdc, make_request):
    pr = make_request(usdc_micro=4_500_001)
    send_token(w3, usdc, payer=PAYERS[0], to=pr.receiving_address, value=4_500_001)

    report = watch_chains_task.apply().get()

    assert watch_chains_task.name == "payments.watch_chains"
    assert report == [
        {
            "chain_id": 31337,
            "from": report[0]["from"],
            "to": head(w3),
            "attached": 1,
            "verified": 1,
            "skipped": None,
        }
    ]


def test_a_cursor_ahead_of_the_node_restarts_at_the_head(local_chain, w3):
    # A restarted dev chain (or a node on a shorter fork) is behind the cursor.
    local_chain.last_scanned_block = head(w3) + 500
    local_chain.save()

    result = scan_chain(local_chain)

    assert result.from_block == head(w3) - local_chain.confirmations
    assert Chain.objects.get(pk=local_chain.pk).last_scanned_block == head(w3)


def test_the_watched_set_is_read_without_a_sort(local_chain):
    # It goes into a set; the model's ordering sorted every candidate row.
    from datetime import UTC, datetime

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from payments.chain.matching import watched

    with CaptureQueriesContext(connection) as queries:
        watched(local_chain, since=datetime(2026, 1, 1, tzinfo=UTC))
    (query,) = [q["sql"] for q in queries if "payments_paymentrequest" in q["sql"]]
    assert "ORDER BY" not in query


def test_a_chain_given_a_working_rpc_later_is_still_read_from_its_configuration(
    db, anvil, usdc, w3, evm_snapshot, make_request
):
    # D34: the head *at configuration time*. Configured while its RPC did not
    # answer (a typo), then given a working URL: the second configure set the
    # cursor at the head it found then, and a payment made in between (the pay
    # page offered the chain all along) was never found.
    from payments.chain.registry import chain_configure

    args = {"chain_id": CHAIN_ID, "name": "Local anvil", "is_local": True}
    args["usdc_address"] = usdc.address
    first = chain_configure(**args, rpc_urls=[f"http://127.0.0.1:{free_port()}"])
    assert first.rpc_problem
    assert first.chain.last_scanned_block is None
    Chain.objects.filter(pk=CHAIN_ID).update(
        watch_from=timezone.now() - timedelta(seconds=1)
    )
    pr = make_request(usdc_micro=1_000_007)
    send_token(w3, usdc, payer=PAYERS[0], to=pr.receiving_address, value=1_000_007)
    mine(anvil, 5)

    fixed = chain_configure(**args, rpc_urls=[anvil.url])
    assert fixed.rpc_problem is None
    result = scan_chain(Chain.objects.get(pk=CHAIN_ID))

    assert result.attached == [str(pr.pk)]


def test_a_chain_switched_off_mid_scan_resumes_where_its_payments_were_refused(
    cursor_at_head, anvil, w3, usdc, make_request, monkeypatch
):
    """D19: a chain switched off takes no proofs, and switched on again the
    watcher resumes where it was. Switched off while a (catch-up) scan ran,
    the scan read on: each payment it found was refused (``unsupported_chain``)
    and its cursor moved past them all, so none was ever attached."""
    from payments.chain import watcher

    pr = make_request(usdc_micro=8_888_013)
    mine(anvil, 6)
    tx = send_token(w3, usdc, payer=PAYERS[2], to=pr.receiving_address, value=8_888_013)
    mine(anvil, 6)
    read = watcher.watched
    chunks: list[int] = []

    def switched_off_after_the_first_chunk(chain, *, since):
        chunks.append(1)
        if len(chunks) == 2:  # an operator's "disable" lands mid-scan
            Chain.objects.filter(pk=chain.pk).update(enabled=False)
        return read(chain, since=since)

    monkeypatch.setattr(watcher, "watched", switched_off_after_the_first_chunk)
    scan_chain(Chain.objects.get(pk=CHAIN_ID), chunk_blocks=4)
    monkeypatch.setattr(watcher, "watched", read)
    pr.refresh_from_db()
    assert pr.proof_status == "none"

    Chain.objects.filter(pk=CHAIN_ID).update(enabled=True)
    again = scan_chain(Chain.objects.get(pk=CHAIN_ID))

    assert again.attached == [str(pr.pk)]
    pr.refresh_from_db()
    assert (pr.tx_hash, pr.proof_status) == (tx, "verified")


def test_a_run_out_of_time_stops_between_chunks_and_the_next_goes_on(
    local_chain, anvil, w3, usdc, make_request
):
    # Behind a provider capping log ranges a chunk is ~200 calls: a run cut by
    # the task's soft limit raised in every run of a catch-up, the chunk in
    # hand read for nothing. Past its deadline no chunk starts; the first always
    # does, so every run moves on.
    start = head(w3)
    local_chain.last_scanned_block = start
    local_chain.save()
    mine(anvil, 120)
    pr = make_request(usdc_micro=8_888_003)
    send_token(w3, usdc, payer=PAYERS[2], to=pr.receiving_address, value=8_888_003)

    first = scan_chain(local_chain, chunk_blocks=50, deadline=0.0)

    assert first.chunks == 1
    assert first.attached == []  # the transfer is past the first chunk
    cursor = Chain.objects.get(pk=local_chain.pk).last_scanned_block
    assert cursor == first.to_block
    assert first.to_block < head(w3)
    second = scan_chain(Chain.objects.get(pk=local_chain.pk), chunk_blocks=50)
    assert second.from_block <= cursor + 1
    assert second.attached == [str(pr.pk)]
    assert Chain.objects.get(pk=local_chain.pk).last_scanned_block == head(w3)


def test_each_chain_of_a_run_gets_a_deadline_within_the_run(
    cursor_at_head, monkeypatch
):
    from time import monotonic

    from payments.chain import watcher

    deadlines = []

    def scan(chain, **kwargs):
        deadlines.append(kwargs["deadline"])
        return watcher.ScanResult(chain_id=chain.chain_id)

    monkeypatch.setattr(watcher, "scan_chain", scan)
    before = monotonic()
    watcher.watch_chains()
    assert deadlines
    for deadline in deadlines:
        assert before < deadline <= monotonic() + watcher.WATCH_RUN_SECONDS
    assert watch_chains_task.soft_time_limit > watcher.WATCH_RUN_SECONDS
