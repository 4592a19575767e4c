"""Proof task countdowns and duplicate deliveries (D20, D24).

Redis redelivers a task it has not seen acknowledged within the visibility
timeout, and a countdown task stays unacknowledged until it runs: every broker
countdown of the proof tasks stays below the cap the webhooks use, longer
waits are left to the beat's re-check, and a check that is decided, not due,
or already done by another delivery is a no-op.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from payments.chain.devnode import free_port
from payments.models import PaymentRequest
from payments.proofs.services import proof_attach, proof_reverify, proof_verify
from payments.proofs.services.checks import (
    BROKER_COUNTDOWN_MAX_SECONDS,
    broker_countdown,
    rpc_backoff,
)
from payments.proofs.tasks import recheck_attached_proofs, verify_proof_task
from webhooks.models import WebhookEvent
from webhooks.services.outbox import COUNTDOWN_MAX_SECONDS

from .conftest import CHAIN_ID, PAYERS, send_token

pytestmark = pytest.mark.chain

PR = PaymentRequest


def event_count(pr) -> int:
    return WebhookEvent.objects.filter(request_id=pr.pk).count()


@pytest.fixture
def attached(local_chain, w3, usdc, make_request):
    pr = make_request(usdc_micro=8_100_001)
    tx = send_token(w3, usdc, payer=PAYERS[0], to=pr.receiving_address, value=8_100_001)
    proof_attach(request=pr, chain_id=CHAIN_ID, tx_hash=tx, source="customer")
    pr.refresh_from_db()
    return pr


@pytest.fixture
def node_down(local_chain):
    local_chain.rpc_urls = [f"http://127.0.0.1:{free_port()}"]  # nothing listens
    local_chain.save()
    return local_chain


def test_the_countdown_cap_is_the_webhooks_and_below_the_visibility_timeout():
    visibility = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("visibility_timeout")
    assert BROKER_COUNTDOWN_MAX_SECONDS == COUNTDOWN_MAX_SECONDS
    if visibility is not None:  # Redis (the production and test broker)
        assert visibility > BROKER_COUNTDOWN_MAX_SECONDS
    # The RPC backoff itself reaches 600 s ± 20 %: those never ride the broker.
    assert max(rpc_backoff(6) for _ in range(50)) > BROKER_COUNTDOWN_MAX_SECONDS
    assert broker_countdown(BROKER_COUNTDOWN_MAX_SECONDS) == 300
    assert broker_countdown(BROKER_COUNTDOWN_MAX_SECONDS + 1) is None
    assert broker_countdown(None) is None


def test_with_the_node_down_no_retry_countdown_passes_the_cap(
    attached, node_down, monkeypatch
):
    # Spy on the countdowns the task hands Celery (eager runs retry at once).
    countdowns: list[int] = []
    retry = verify_proof_task.retry

    def spy(*args, **kwargs):
        countdowns.append(kwargs["countdown"])
        return retry(*args, **kwargs)

    monkeypatch.setattr(verify_proof_task, "retry", spy)

    outcome = verify_proof_task.apply(args=(str(attached.pk),)).get()

    assert outcome == "rpc_unavailable"
    assert countdowns  # short waits ride the broker …
    assert max(countdowns) <= BROKER_COUNTDOWN_MAX_SECONDS
    attached.refresh_from_db()
    # … the first wait past the cap is left to the beat: the proof stays
    # attached (D20) and is due by next_verify_at.
    assert attached.proof_status == "attached"
    wait = (attached.next_verify_at - timezone.now()).total_seconds()
    assert wait > BROKER_COUNTDOWN_MAX_SECONDS - 5
    assert attached.verify_attempts == len(countdowns) + 1


def test_the_verify_task_is_a_no_op_for_a_decided_proof(attached):
    assert proof_verify(request_id=attached.pk).outcome == "verified"
    attached.refresh_from_db()
    before = (attached.updated_at, attached.verify_attempts, event_count(attached))

    outcome = verify_proof_task.apply(args=(str(attached.pk),)).get()

    assert outcome == "skipped"
    attached.refresh_from_db()
    assert (
        attached.updated_at,
        attached.verify_attempts,
        event_count(attached),
    ) == before


def test_the_verify_task_is_a_no_op_when_the_check_is_not_due(attached, node_down):
    later = timezone.now() + timedelta(minutes=10)  # e.g. an RPC backoff
    PR.objects.filter(pk=attached.pk).update(next_verify_at=later)

    # A redelivered or early copy: no RPC (the node is down: it would count a
    # failed try), no write.
    outcome = verify_proof_task.apply(args=(str(attached.pk),)).get()

    assert outcome == "skipped"
    attached.refresh_from_db()
    assert (attached.verify_attempts, attached.next_verify_at) == (0, later)


def test_a_duplicate_of_a_check_that_already_ran_is_a_no_op(
    local_chain, w3, usdc, make_request
):
    local_chain.confirmations = 5  # stays pending: the check reschedules itself
    local_chain.save()
    pr = make_request(usdc_micro=8_200_003)
    tx = send_token(w3, usdc, payer=PAYERS[1], to=pr.receiving_address, value=8_200_003)
    proof_attach(request=pr, chain_id=CHAIN_ID, tx_hash=tx, source="customer")
    pr.refresh_from_db()
    token = pr.next_verify_at.isoformat()

    first = verify_proof_task.apply(args=(str(pr.pk), token)).get()
    duplicate = verify_proof_task.apply(args=(str(pr.pk), token)).get()

    assert (first, duplicate) == ("pending", "skipped")
    pr.refresh_from_db()
    assert pr.verify_attempts == 1


def test_the_beat_hands_its_lease_to_the_task_it_enqueues(
    attached, django_capture_on_commit_callbacks
):
    now = timezone.now()
    PR.objects.filter(pk=attached.pk).update(next_verify_at=now - timedelta(minutes=1))

    with django_capture_on_commit_callbacks() as callbacks:
        assert recheck_attached_proofs(now=now) == [str(attached.pk)]

    (callback,) = callbacks
    assert callback.task_name == "payments.verify_proof"
    attached.refresh_from_db()
    assert callback.args == (str(attached.pk), attached.next_verify_at.isoformat())
    # The claimed check runs (its lease is in the future, yet it is due) …
    assert verify_proof_task.apply(args=callback.args).get() == "verified"
    # … and a second delivery of the same message is a no-op.
    assert verify_proof_task.apply(args=callback.args).get() == "skipped"


def test_reverify_keeps_the_background_check_going_under_the_cap(
    local_chain, w3, usdc, make_request, django_capture_on_commit_callbacks
):
    local_chain.confirmations = 5
    local_chain.save()
    pr = make_request(usdc_micro=8_300_007)
    tx = send_token(w3, usdc, payer=PAYERS[2], to=pr.receiving_address, value=8_300_007)
    proof_attach(request=pr, chain_id=CHAIN_ID, tx_hash=tx, source="merchant")

    with django_capture_on_commit_callbacks() as callbacks:
        proof_reverify(request=pr)

    (callback,) = [
        c for c in callbacks if getattr(c, "task_name", "") == "payments.verify_proof"
    ]
    pr.refresh_from_db()
    assert callback.args == (str(pr.pk), pr.next_verify_at.isoformat())
    assert 0 < callback.countdown <= BROKER_COUNTDOWN_MAX_SECONDS


def test_a_check_on_a_slow_node_ends_as_a_recorded_failure_inside_the_soft_limit(
    attached, local_chain, anvil, monkeypatch
):
    """A check asked the chain for as long as its calls took (5 s each, a few
    per RPC URL while failing over). Slower than the task's soft limit, it was
    cut mid-call: no failed try recorded, no backoff; the beat sent it again
    every 2 min 15 s, each run holding a worker child for 50 s and ending in a
    traceback. Its RPC work now has a budget inside the soft limit, past which
    the try is recorded as rpc_unavailable (D20: the proof stays attached).
    Scaled down here: a node answering in 0.3 s, a budget of 0.5 s (audit 54).
    """
    import time

    import requests

    from payments.proofs import tasks

    from .conftest import json_rpc_server

    assert verify_proof_task.soft_time_limit >= tasks.VERIFY_RPC_BUDGET_SECONDS + 10

    def slow(call, raw):
        time.sleep(0.3)
        headers = {"Content-Type": "application/json"}
        return requests.post(anvil.url, data=raw, headers=headers, timeout=5).json()

    monkeypatch.setattr(tasks, "VERIFY_RPC_BUDGET_SECONDS", 0.5)
    monkeypatch.setattr(verify_proof_task, "max_retries", 0)
    with json_rpc_server(slow) as url:
        local_chain.rpc_urls = [url]
        local_chain.save()
        started = time.monotonic()
        outcome = verify_proof_task.apply(args=(str(attached.pk),)).get()
        took = time.monotonic() - started

    assert outcome == "rpc_unavailable"
    assert took < 1.5
    attached.refresh_from_db()
    assert attached.proof_status == "attached"
    assert attached.rpc_failures == 1  # recorded: the next try backs off
    assert attached.next_verify_at > timezone.now()
