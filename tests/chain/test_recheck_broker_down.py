"""A verify task whose check is saved finishes although the broker is down (D24).

Its self-scheduled re-check was published straight after the check was
written, and a refused connection raised out of the task: a failed task with
a traceback for work that was saved, and that the re-check beat picks up
anyway. The broker here is a real Redis URL on a port nothing listens on.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import timedelta

import pytest
from kombu import pools as kombu_pools

from jopay_project.celery import app as celery_app
from payments.proofs import tasks
from payments.proofs.services import proof_attach
from tests.live import free_port

from .conftest import CHAIN_ID

pytestmark = [pytest.mark.chain, pytest.mark.django_db(transaction=True)]

UNMINED = "0x" + "7c" * 32


def _point_celery_at(url: str) -> None:
    # What Celery itself does after a fork: drop the cached pools.
    kombu_pools.reset()
    celery_app._pool = None
    celery_app.amqp._producer_pool = None
    celery_app.conf.broker_url = url


@pytest.fixture
def broker_down() -> Iterator[None]:
    """Publishing from here on meets a refused connection (Redis stopped)."""
    old = celery_app.conf.broker_url
    _point_celery_at(f"redis://127.0.0.1:{free_port()}/0")
    try:
        yield
    finally:
        _point_celery_at(old)


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
