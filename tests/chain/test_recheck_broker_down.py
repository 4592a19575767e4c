"""Proof and rescan tasks whose work is saved finish although the broker is down (D24).

A pending check's self-scheduled re-check, and the retry of a check or a
rescan the node failed, were published after the task had written its state,
and a refused connection raised out of the task (Celery turns a failed retry
into ``Reject``): a failed task with a traceback for work that was saved, and
that the re-check beat or the rescan resume beat picks up anyway. The broker
here is a real Redis URL on a port nothing listens on.
"""

from __future__ import annotations

import logging
import uuid
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from payments.models import RequestRescan
from payments.proofs import tasks
from payments.proofs.services import proof_attach
from payments.proofs.services.rescans import RESUME_AFTER, rescans_resume
from payments.proofs.services.rescans_owed import rescan_args, rescans_schedule
from tests.live import free_port

from .conftest import CHAIN_ID

pytestmark = [pytest.mark.chain, pytest.mark.django_db(transaction=True)]

UNMINED = "0x" + "7c" * 32


@pytest.fixture
def broker_down(cut_broker) -> None:
    """Publishing from here on meets a refused connection (Redis stopped)."""
    cut_broker()


def test_a_pending_check_is_saved_and_left_to_the_beat_when_the_broker_is_down(
    local_chain, make_request, caplog, request
):
    pr = make_request(usdc_micro=3_100_017)
    proof_attach(request=pr, chain_id=CHAIN_ID, tx_hash=UNMINED, source="customer")
    pr.refresh_from_db()
    due = pr.next_verify_at
    request.getfixturevalue("broker_down")

    with caplog.at_level(logging.WARNING, logger="jopay.tasks"):
        # Called as a worker runs it (not eager): a pending check schedules
        # its next one on the broker.
        outcome = tasks.verify_proof_task(str(pr.pk), due.isoformat())

    assert outcome == "pending"
    pr.refresh_from_db()
    assert pr.proof_status == "attached"
    assert pr.next_verify_at > due  # the check was recorded, the next one set
    lines = [r for r in caplog.records if "broker unavailable" in r.getMessage()]
    assert [r.levelno for r in lines] == [logging.ERROR]
    # The safety net: the beat's re-check claims it once it is overdue.
    later = pr.next_verify_at + tasks.RECHECK_SLACK + timedelta(seconds=1)
    assert tasks.recheck_attached_proofs(now=later) == [str(pr.pk)]


@contextmanager
def in_a_worker(task, *args):
    """Run ``task`` as a worker runs a delivered message (retries publish)."""
    task.push_request(
        id=str(uuid.uuid4()),
        called_directly=False,
        is_eager=False,
        retries=0,
        args=list(args),
        kwargs={},
        delivery_info={},
    )
    try:
        yield
    finally:
        task.pop_request()


def test_a_check_the_node_failed_is_left_to_the_beat_when_its_retry_cannot_be_sent(
    local_chain, make_request, caplog, request
):
    # The failed try is recorded (backoff) before the retry is published; a
    # retry the broker refused raised Reject out of the task: a traceback.
    pr = make_request(usdc_micro=3_100_033)
    proof_attach(request=pr, chain_id=CHAIN_ID, tx_hash=UNMINED, source="customer")
    local_chain.rpc_urls = [f"http://127.0.0.1:{free_port()}"]  # the node is down
    local_chain.save()
    pr.refresh_from_db()
    token = pr.next_verify_at.isoformat()
    request.getfixturevalue("broker_down")

    with (
        caplog.at_level(logging.WARNING, logger="jopay.tasks"),
        in_a_worker(tasks.verify_proof_task, str(pr.pk), token),
    ):
        outcome = tasks.verify_proof_task.run(str(pr.pk), token)

    assert outcome == "rpc_unavailable"
    pr.refresh_from_db()
    assert (pr.proof_status, pr.rpc_failures) == ("attached", 1)
    lines = [r for r in caplog.records if "broker unavailable" in r.getMessage()]
    assert [r.levelno for r in lines] == [logging.ERROR]
    later = pr.next_verify_at + tasks.RECHECK_SLACK + timedelta(seconds=1)
    assert tasks.recheck_attached_proofs(now=later) == [str(pr.pk)]


def test_a_failed_rescan_is_left_to_the_resume_beat_when_its_retry_cannot_be_sent(
    local_chain, make_request, caplog, request
):
    pr = make_request(usdc_micro=3_100_049)
    with transaction.atomic():
        rescans_schedule(request=pr, now=timezone.now())
    local_chain.rpc_urls = [f"http://127.0.0.1:{free_port()}"]  # the node is down
    local_chain.save()
    args = rescan_args(pr.pk, CHAIN_ID)
    request.getfixturevalue("broker_down")

    with (
        caplog.at_level(logging.WARNING, logger="jopay.tasks"),
        in_a_worker(tasks.rescan_request_task, *args),
    ):
        outcome = tasks.rescan_request_task.run(*args)

    assert outcome == "rpc_unavailable"
    lines = [r for r in caplog.records if "broker unavailable" in r.getMessage()]
    assert [r.levelno for r in lines] == [logging.ERROR]
    row = RequestRescan.objects.get(request=pr, chain_id=CHAIN_ID)
    assert row.locked_until is None  # given back, with the retry's time
    later = row.enqueued_at + RESUME_AFTER + timedelta(seconds=1)
    assert rescans_resume(now=later) == [(str(pr.pk), CHAIN_ID)]
