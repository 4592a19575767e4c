"""An owed rescan is a row, so no broker outage or dead worker loses it (D20, D21).

The rescan after a ``mismatch`` is what finds a real payment the watcher
passed over. It used to exist only as a broker message: a publish lost after
the commit, a lost retry or continuation, and the payment stayed unfound.
Now the mismatch writes a ``RequestRescan`` row in its own transaction; the
task leases it, records where the next run starts, deletes it when done, and
``payments.resume_rescans`` sends again whatever nobody is working on.
"""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from payments.models import PaymentRequest, RequestRescan
from payments.proofs.services import proof_attach, proof_verify
from payments.proofs.services.rescans import (
    MAX_RUNS_WITHOUT_PROGRESS,
    NO_PROGRESS_DELAY_SECONDS,
    RESCAN_LEASE,
    RESUME_AFTER,
    rescan_args,
    rescan_claim,
    rescan_finish,
    rescans_resume,
    rescans_schedule,
)
from payments.proofs.tasks import rescan_request_task, resume_rescans_task

from .conftest import CHAIN_ID, PAYERS, mine, send_token

pytestmark = pytest.mark.chain

PR = PaymentRequest
RANDOM_HASH = "0x" + "5e" * 32


def enqueued(callbacks) -> list[tuple[str, tuple]]:
    return [(cb.task_name, cb.args) for cb in callbacks if hasattr(cb, "task_name")]


@pytest.fixture
def owed(local_chain, make_request):
    """A mismatched request owing a rescan on the local chain, nobody on it."""
    pr = make_request(proof_status=PR.ProofStatus.MISMATCH, tx_hash=RANDOM_HASH)
    row = RequestRescan.objects.create(
        request=pr, chain=local_chain, enqueued_at=timezone.now()
    )
    return pr, row


def test_a_rescan_whose_message_was_lost_is_sent_again_by_the_beat(
    local_chain, w3, usdc, make_request, django_capture_on_commit_callbacks
):
    pr = make_request(usdc_micro=7_900_007)
    proof_attach(request=pr, chain_id=CHAIN_ID, tx_hash=RANDOM_HASH, source="customer")
    real = send_token(
        w3, usdc, payer=PAYERS[0], to=pr.receiving_address, value=7_900_007
    )
    pr.refresh_from_db()
    # The mismatch commits, but its task never reaches the broker: the
    # captured on-commit callbacks are simply not run.
    with django_capture_on_commit_callbacks(execute=False) as lost:
        result = proof_verify(
            request_id=pr.pk, now=pr.proof_attached_at + timedelta(minutes=31)
        )
    assert result.outcome == "mismatch"
    assert enqueued(lost) == [("payments.rescan_request", rescan_args(pr.pk, CHAIN_ID))]
    row = RequestRescan.objects.get(request=pr)

    # A row sent moments ago is left to its task …
    assert rescans_resume(now=row.enqueued_at + timedelta(seconds=30)) == []
    # … but once nothing came of it for RESUME_AFTER, the beat sends it again.
    later = row.enqueued_at + RESUME_AFTER + timedelta(seconds=1)
    with django_capture_on_commit_callbacks() as sent:
        assert rescans_resume(now=later) == [(str(pr.pk), CHAIN_ID)]
    assert enqueued(sent) == [("payments.rescan_request", rescan_args(pr.pk, CHAIN_ID))]
    assert rescans_resume(now=later) == []  # taken: the next beat skips it

    message = rescan_args(pr.pk, CHAIN_ID)
    assert rescan_request_task.apply(args=message).get() == "verified"
    pr.refresh_from_db()
    assert (pr.status, pr.tx_hash, pr.proof_source) == ("paid", real, "trails_on_chain")
    assert not RequestRescan.objects.exists()
    # A duplicate of the message finds nothing owed.
    assert rescan_request_task.apply(args=message).get() == "skipped"


def test_a_leased_rescan_runs_once_and_a_dead_workers_lease_runs_out(owed):
    pr, row = owed
    now = timezone.now()

    first = rescan_claim(request_id=pr.pk, chain_id=CHAIN_ID, now=now)
    assert first is not None
    assert rescan_claim(request_id=pr.pk, chain_id=CHAIN_ID, now=now) is None
    # Its worker dies: the beat leaves the row alone while the lease holds …
    assert rescans_resume(now=now + RESUME_AFTER + timedelta(seconds=1)) == []
    # … and sends it again once the lease has run out.
    after_lease = now + RESCAN_LEASE + timedelta(seconds=1)
    assert rescans_resume(now=after_lease) == [(str(pr.pk), CHAIN_ID)]
    again = rescan_claim(request_id=pr.pk, chain_id=CHAIN_ID, now=after_lease)
    assert again is not None
    assert RequestRescan.objects.get(pk=row.pk).runs == 2


def test_a_continuation_is_kept_on_the_row_and_enqueued(
    owed, django_capture_on_commit_callbacks
):
    pr, row = owed
    claim = rescan_claim(request_id=pr.pk, chain_id=CHAIN_ID, now=timezone.now())
    assert (claim.from_block, claim.to_block) == (None, None)  # window not read yet

    with django_capture_on_commit_callbacks() as sent:
        assert rescan_finish(
            claim=claim, next_from_block=50, to_block=80, now=timezone.now()
        )

    assert enqueued(sent) == [("payments.rescan_request", rescan_args(pr.pk, CHAIN_ID))]
    row.refresh_from_db()
    assert (row.next_from_block, row.to_block, row.locked_until) == (50, 80, None)
    assert row.runs == 0  # it moved on, so nothing counts against the cap
    following = rescan_claim(request_id=pr.pk, chain_id=CHAIN_ID, now=timezone.now())
    assert (following.from_block, following.to_block) == (50, 80)


def test_a_newer_mismatch_starts_over_and_the_overtaken_run_records_nothing(owed):
    pr, row = owed
    RequestRescan.objects.filter(pk=row.pk).update(next_from_block=10, to_block=90)
    old = rescan_claim(request_id=pr.pk, chain_id=CHAIN_ID, now=timezone.now())
    with transaction.atomic():  # the second wrong hash's mismatch
        assert rescans_schedule(request=pr, now=timezone.now()) == [CHAIN_ID]

    assert not rescan_finish(
        claim=old, next_from_block=60, to_block=90, now=timezone.now()
    )
    rescan_finish(claim=old, next_from_block=None, to_block=90, now=timezone.now())

    row.refresh_from_db()  # neither the old run's progress nor its end counted
    assert (row.generation, row.next_from_block, row.locked_until) == (2, None, None)
    new = rescan_claim(request_id=pr.pk, chain_id=CHAIN_ID, now=timezone.now())
    assert (new.generation, new.from_block) == (2, None)


def test_a_chain_outage_gives_the_row_back_for_the_beat(owed, local_chain):
    pr, row = owed
    local_chain.rpc_urls = ["http://127.0.0.1:9/"]  # nothing listens there
    local_chain.save()

    # Eager retries run at once; after the last one the row is still owed.
    outcome = rescan_request_task.apply(args=rescan_args(pr.pk, CHAIN_ID)).get()

    assert outcome == "rpc_unavailable"
    row.refresh_from_db()
    assert row.locked_until is None
    assert row.enqueued_at > timezone.now()
    assert row.runs >= 2
    later = row.enqueued_at + RESUME_AFTER + timedelta(seconds=1)
    assert rescans_resume(now=later) == [(str(pr.pk), CHAIN_ID)]


def test_a_request_that_no_longer_needs_it_drops_its_row(owed):
    pr, _ = owed
    PR.objects.filter(pk=pr.pk).update(
        status=PR.Status.CANCELLED, proof_status=PR.ProofStatus.MISMATCH
    )

    outcome = rescan_request_task.apply(args=rescan_args(pr.pk, CHAIN_ID)).get()
    assert outcome == "skipped"
    assert not RequestRescan.objects.exists()


def test_a_continuation_sent_before_rows_existed_is_adopted(owed):
    pr, row = owed
    row.delete()

    rescan_request_task.apply(args=(str(pr.pk), CHAIN_ID, 0, 0)).get()

    # It ran from the blocks it carried (block 0 holds no payment) and, the
    # window being read to its end, nothing is owed any more.
    assert not RequestRescan.objects.exists()


def test_the_resume_beat_task_counts_what_it_sent(
    owed, django_capture_on_commit_callbacks
):
    pr, row = owed
    RequestRescan.objects.filter(pk=row.pk).update(
        enqueued_at=timezone.now() - RESUME_AFTER - timedelta(seconds=5)
    )

    with django_capture_on_commit_callbacks() as sent:
        assert resume_rescans_task.apply().get() == 1

    assert enqueued(sent) == [("payments.rescan_request", rescan_args(pr.pk, CHAIN_ID))]


def test_a_fan_out_message_sent_before_rows_existed_is_adopted(
    local_chain, w3, usdc, make_request
):
    """The old fan-out sent ``(request_id, chain_id)``, and its retries the
    same: queued across a deploy, such a message is given its row and runs
    the whole window, instead of finding no row and dropping the rescan."""
    pr = make_request(
        usdc_micro=7_900_011, proof_status=PR.ProofStatus.MISMATCH, tx_hash=RANDOM_HASH
    )
    real = send_token(
        w3, usdc, payer=PAYERS[0], to=pr.receiving_address, value=7_900_011
    )
    assert not RequestRescan.objects.exists()

    assert rescan_request_task.apply(args=(str(pr.pk), CHAIN_ID)).get() == "verified"

    pr.refresh_from_db()
    assert (pr.status, pr.tx_hash) == ("paid", real)
    assert not RequestRescan.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_run_of_the_old_generation_finishing_mid_restart_leaves_the_row(owed):
    """A newer mismatch restarts the row while a run of the old generation
    deletes it (its window done): the restart must not be lost. The delete
    holds the row when the restart arrives; the restart waits, and then owes
    a new row rather than updating nothing."""
    pr, _ = owed
    old = rescan_claim(request_id=pr.pk, chain_id=CHAIN_ID, now=timezone.now())
    deleted = threading.Event()

    def old_run_finishes() -> None:
        try:
            with transaction.atomic():
                rescan_finish(
                    claim=old, next_from_block=None, to_block=None, now=timezone.now()
                )
                deleted.set()
                time.sleep(0.5)  # the restart arrives while this holds the row
        finally:
            connection.close()

    finisher = threading.Thread(target=old_run_finishes)
    finisher.start()
    assert deleted.wait(10)
    with transaction.atomic():  # the second wrong hash's mismatch
        assert rescans_schedule(request=pr, now=timezone.now()) == [CHAIN_ID]
    finisher.join(10)

    row = RequestRescan.objects.get(request=pr, chain_id=CHAIN_ID)
    assert (row.next_from_block, row.locked_until) == (None, None)
    assert rescan_claim(request_id=pr.pk, chain_id=CHAIN_ID, now=timezone.now())


def test_a_rescan_that_never_moves_on_is_given_up_with_an_error(owed, caplog):
    pr, row = owed
    RequestRescan.objects.filter(pk=row.pk).update(runs=MAX_RUNS_WITHOUT_PROGRESS - 1)
    assert rescan_claim(request_id=pr.pk, chain_id=CHAIN_ID, now=timezone.now())
    RequestRescan.objects.filter(pk=row.pk).update(locked_until=None)  # it failed

    with caplog.at_level("ERROR", logger="jopay.proofs"):
        claim = rescan_claim(request_id=pr.pk, chain_id=CHAIN_ID, now=timezone.now())

    assert claim is None
    assert not RequestRescan.objects.exists()
    assert "given up after 48 runs without progress" in caplog.text


def test_a_continuation_that_did_not_move_on_waits_and_counts(
    owed, django_capture_on_commit_callbacks
):
    """The node answering had not reached the blocks yet: the run carries on
    from the same block, later (at once, the 48-run cap would pass in
    seconds), and it counts against the cap; progress resets the count."""
    pr, row = owed
    RequestRescan.objects.filter(pk=row.pk).update(next_from_block=50, to_block=90)
    claim = rescan_claim(request_id=pr.pk, chain_id=CHAIN_ID, now=timezone.now())

    with django_capture_on_commit_callbacks() as sent:
        rescan_finish(claim=claim, next_from_block=50, to_block=90, now=timezone.now())

    row.refresh_from_db()
    assert row.runs == 1
    assert row.enqueued_at > timezone.now() + timedelta(seconds=20)
    [callback] = [cb for cb in sent if hasattr(cb, "task_name")]
    assert callback.args == rescan_args(pr.pk, CHAIN_ID)
    assert callback.countdown == NO_PROGRESS_DELAY_SECONDS

    claim = rescan_claim(request_id=pr.pk, chain_id=CHAIN_ID, now=timezone.now())
    rescan_finish(claim=claim, next_from_block=60, to_block=90, now=timezone.now())
    row.refresh_from_db()
    assert (row.runs, row.next_from_block) == (0, 60)


def test_a_rescan_owed_on_a_chain_switched_off_waits_for_it(owed, local_chain):
    # An operator disabling the chain (or editing its RPC URLs) for a moment
    # must not drop the rescan: once back, the watcher carries on from its
    # cursor and never reads the window before it.
    pr, row = owed
    local_chain.enabled = False
    local_chain.save()

    outcome = rescan_request_task.apply(args=rescan_args(pr.pk, CHAIN_ID)).get()

    assert outcome == "rpc_unavailable"
    row.refresh_from_db()
    assert row.locked_until is None


def test_a_slow_run_records_how_far_it_read_before_its_time_is_up(
    owed, anvil, w3, monkeypatch, django_capture_on_commit_callbacks
):
    """A run read its 50 000 blocks for as long as they took. Behind a
    provider capping log ranges (10 blocks: 5 000 calls) the task's soft time
    limit (280 s) ended it first, before it recorded anything: every run read
    the same blocks again, until the rescan was given up and the payment
    never found. Here the soft limit strikes at the third log query."""
    from celery.exceptions import SoftTimeLimitExceeded

    from payments.chain import rescan
    from payments.chain.rpc_logs import TransferLogQueries

    pr, row = owed
    # Chunks of 5 blocks here (2 000 in production), and at least three.
    monkeypatch.setitem(rescan.rescan_request_window.__kwdefaults__, "chunk_blocks", 5)
    mine(anvil, 15)
    head = w3.eth.block_number
    RequestRescan.objects.filter(pk=row.pk).update(next_from_block=1, to_block=head)
    read = TransferLogQueries._logs_in_range
    queries: list[int] = []

    def slow(self, params, from_block, to_block, answered):
        queries.append(from_block)
        if len(queries) == 3:
            raise SoftTimeLimitExceeded()
        time.sleep(0.2)
        return read(self, params, from_block, to_block, answered)

    monkeypatch.setattr(TransferLogQueries, "_logs_in_range", slow)
    monkeypatch.setattr(rescan, "RESCAN_RUN_SECONDS", 0.1, raising=False)

    with django_capture_on_commit_callbacks(execute=False) as sent:
        rescan_request_task.apply(args=rescan_args(pr.pk, CHAIN_ID))

    row.refresh_from_db()
    assert (row.next_from_block, row.to_block) == (6, head)
    assert row.runs == 0  # it moved on
    assert enqueued(sent) == [("payments.rescan_request", rescan_args(pr.pk, CHAIN_ID))]


def test_a_chunk_cut_by_the_soft_limit_keeps_the_chunks_read_before_it(
    owed, anvil, w3, monkeypatch, django_capture_on_commit_callbacks
):
    """RESCAN_RUN_SECONDS only stops a run from starting a chunk: a chunk
    started before it may still run into the task's soft time limit (280 s).
    Behind a provider capping log ranges a chunk is 200 calls; at ~0.5 s a
    call the third chunk starts at 190 s and ends at 285 s. The run then ended
    in SoftTimeLimitExceeded with nothing recorded, every run read the same
    blocks again and the rescan was given up after 48 runs (the payment never
    found). Now the chunks read before the cut are recorded and a
    continuation carries on from the one that was cut (audit 54)."""
    from celery.exceptions import SoftTimeLimitExceeded

    from payments.chain import rescan
    from payments.chain.rpc_logs import TransferLogQueries

    pr, row = owed
    monkeypatch.setitem(rescan.rescan_request_window.__kwdefaults__, "chunk_blocks", 5)
    mine(anvil, 15)
    head = w3.eth.block_number
    RequestRescan.objects.filter(pk=row.pk).update(next_from_block=1, to_block=head)
    read = TransferLogQueries._logs_in_range
    queries: list[int] = []

    def cut(self, params, from_block, to_block, answered):
        queries.append(from_block)
        if from_block >= 11:  # the third chunk, started well inside the budget
            raise SoftTimeLimitExceeded()
        return read(self, params, from_block, to_block, answered)

    monkeypatch.setattr(TransferLogQueries, "_logs_in_range", cut)

    with django_capture_on_commit_callbacks(execute=False) as sent:
        outcome = rescan_request_task.apply(args=rescan_args(pr.pk, CHAIN_ID)).get()

    assert outcome == "continued"
    row.refresh_from_db()
    assert (row.next_from_block, row.to_block) == (11, head)
    assert row.runs == 0  # it moved on: not counted towards giving up
    assert row.locked_until is None
    assert enqueued(sent) == [("payments.rescan_request", rescan_args(pr.pk, CHAIN_ID))]


def test_a_first_chunk_cut_by_the_soft_limit_still_ends_the_run(
    owed, anvil, w3, monkeypatch
):
    """Nothing read, nothing to record: the cut propagates (the lease runs out
    and the resume beat sends the row again, counted as a run without
    progress)."""
    from celery.exceptions import SoftTimeLimitExceeded

    from payments.chain import rescan
    from payments.chain.rpc_logs import TransferLogQueries

    pr, row = owed
    monkeypatch.setitem(rescan.rescan_request_window.__kwdefaults__, "chunk_blocks", 5)
    mine(anvil, 15)
    RequestRescan.objects.filter(pk=row.pk).update(
        next_from_block=1, to_block=w3.eth.block_number
    )

    def cut(self, params, from_block, to_block, answered):
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(TransferLogQueries, "_logs_in_range", cut)

    with pytest.raises(SoftTimeLimitExceeded):
        rescan_request_task.apply(args=rescan_args(pr.pk, CHAIN_ID)).get()
    row.refresh_from_db()
    assert row.next_from_block == 1
