"""The expiry task (D11, D16): open requests past expires_at with no pending proof
become expired, once, with one request.expired event each."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import time_machine
from django.db import connection, transaction

from payments.models import PaymentRequest
from payments.services.closing import payment_requests_expire_due
from payments.tasks import expire_due_requests_task
from tests.payments.conftest import make_request
from tests.plans import plan_nodes
from webhooks.models import WebhookEvent


def test_due_requests_expire_with_one_event_each(merchant, test_merchant):
    due = [
        make_request(merchant, expires_in=-1),
        make_request(merchant, expires_in=-600, status="opened"),
        make_request(
            merchant,
            expires_in=-60,
            proof_status="mismatch",
            mismatch_reason="underpaid",
        ),
        make_request(test_merchant, expires_in=-5),
    ]
    assert expire_due_requests_task() == 4

    for request in due:
        request.refresh_from_db()
        assert request.status == "expired"
        assert request.expired_at is not None
        events = list(WebhookEvent.objects.filter(request_id=request.pk))
        assert [e.type for e in events] == ["request.expired"]
        assert events[0].payload["status"] == "expired"
        assert events[0].test_mode == request.test_mode
    assert due[2].mismatch_reason == "underpaid"  # untouched by expiry


def test_expiry_reads_no_merchant_and_events_keep_their_tenant(
    merchant, test_merchant, other_partner
):
    # The batch's SELECT ... FOR UPDATE joined every due row's merchant for
    # nothing: the event names it by merchant_id, a column of the row (D23).
    from django.test.utils import CaptureQueriesContext

    from tests.factories import MerchantFactory

    bob_shop = MerchantFactory(partner=other_partner, test_mode=True)
    due = [
        make_request(merchant, expires_in=-1),
        make_request(test_merchant, expires_in=-1),
        make_request(bob_shop, expires_in=-1),
    ]

    with CaptureQueriesContext(connection) as queries:
        assert payment_requests_expire_due() == 3

    sql = [q["sql"] for q in queries]
    assert not [q for q in sql if "merchants_merchant" in q], sql
    for request in due:
        (event,) = WebhookEvent.objects.filter(request_id=request.pk)
        assert (event.partner_id, event.test_mode) == (
            request.partner_id,
            request.test_mode,
        )
        assert event.payload["partner_id"] == str(request.partner_id)
        assert event.payload["merchant_id"] == str(request.merchant_id)


def test_never_expires_pending_or_paid_or_future_or_closed(merchant):
    keep = [
        make_request(merchant, expires_in=60),  # not due yet
        make_request(
            merchant,
            expires_in=-60,
            proof_status="attached",
            tx_hash="0x" + "a" * 64,
            chain_id=1,
        ),  # D16: being verified
        make_request(
            merchant,
            expires_in=-60,
            status="paid",
            proof_status="verified",
            tx_hash="0x" + "b" * 64,
            chain_id=1,
        ),
        make_request(merchant, expires_in=-60, status="cancelled"),
    ]
    assert payment_requests_expire_due() == 0
    assert [PaymentRequest.objects.get(pk=r.pk).status for r in keep] == [
        "requested",
        "requested",
        "paid",
        "cancelled",
    ]
    assert not WebhookEvent.objects.exists()


def test_running_twice_expires_once(merchant):
    request = make_request(merchant, expires_in=-1)
    assert payment_requests_expire_due() == 1
    first_expired_at = PaymentRequest.objects.get(pk=request.pk).expired_at
    assert payment_requests_expire_due() == 0
    assert PaymentRequest.objects.get(pk=request.pk).expired_at == first_expired_at
    assert WebhookEvent.objects.filter(request_id=request.pk).count() == 1


def test_works_through_batches(merchant):
    for _ in range(7):
        make_request(merchant, expires_in=-1)
    assert payment_requests_expire_due(batch_size=3) == 7
    assert PaymentRequest.objects.filter(status="expired").count() == 7


@pytest.mark.django_db(transaction=True)
def test_a_locked_request_is_skipped_not_waited_for(merchant):
    """SKIP LOCKED: a request held by a concurrent cancel/attach is left for the
    next run instead of blocking the task."""
    locked = make_request(merchant, expires_in=-1)
    free = make_request(merchant, expires_in=-1)
    holding, release = threading.Event(), threading.Event()

    def hold_lock():
        try:
            with transaction.atomic():
                PaymentRequest.objects.select_for_update().get(pk=locked.pk)
                holding.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=hold_lock)
    thread.start()
    assert holding.wait(10)
    try:
        assert payment_requests_expire_due() == 1
    finally:
        release.set()
        thread.join(10)
    assert PaymentRequest.objects.get(pk=free.pk).status == "expired"
    assert PaymentRequest.objects.get(pk=locked.pk).status == "requested"
    assert payment_requests_expire_due() == 1  # the next run picks it up


def test_each_batch_reads_due_rows_in_index_order_without_sorting(merchant):
    """After an outage 200 000 requests can be due at once: a batch must read
    its rows in ``request_expiry`` order and stop, not sort every due row."""
    from django.test.utils import CaptureQueriesContext

    for _ in range(3):
        make_request(merchant, expires_in=-1)
    with CaptureQueriesContext(connection) as queries:
        assert payment_requests_expire_due(batch_size=2) == 3
    reads = [q["sql"] for q in queries if "FOR UPDATE" in q["sql"]]
    assert reads
    # A tiny test table, whose statistics depend on the tests before: ask
    # whether a plan that reads in order without sorting exists (the IN-list
    # query had none: it sorted even with sorting discouraged).
    for sql in reads:
        nodes = plan_nodes(
            sql, off=("enable_seqscan", "enable_bitmapscan", "enable_sort")
        )
        assert not [n for n in nodes if n["Node Type"] == "Sort"], sql
        assert "request_expiry" in {n.get("Index Name") for n in nodes}, sql


def test_at_exactly_expires_at_every_reader_says_expired(merchant, client, api):
    """D16: the expiry job (``expires_at <= now``), cancel and the tag windows
    count a request expired from ``expires_at`` itself. The pay page (``now >
    expires_at``) still said "Pay before …" and offered the wallet button for
    that instant, and one microsecond earlier everything agrees it is open."""
    from tests.chain.pay_browser import config_of

    pr = make_request(merchant, expires_in=600)
    other = make_request(merchant, expires_in=600)
    type(pr).objects.filter(pk=other.pk).update(expires_at=pr.expires_at)
    page = f"/pay/{pr.pk}"
    before = pr.expires_at - timedelta(microseconds=1)
    with time_machine.travel(before, tick=False):
        html = client.get(page).content.decode()
        assert config_of(html)["state"] == "open"
        assert "Pay before" in html
        assert payment_requests_expire_due() == 0
    with time_machine.travel(pr.expires_at, tick=False):
        html = client.get(page).content.decode()
        assert config_of(html)["state"] == "grace"
        assert "Pay before" not in html
        assert "Pay with browser wallet" not in html
        # A cancel at that instant is refused, and expires the request as the
        # job would (D16); the job expires the other one.
        cancel = api.post(f"/api/v1/requests/{other.pk}/cancel")
        assert cancel.json()["error"] == "request_not_cancellable"
        other.refresh_from_db()
        assert other.status == "expired"
        assert payment_requests_expire_due() == 1


def test_a_backlog_longer_than_one_tick_ends_the_run_in_budget(merchant, monkeypatch):
    """After an outage the due backlog can take minutes. A run that went on
    until Celery's soft limit (100 s, every minute a new tick) ended each run
    with SoftTimeLimitExceeded, rolled its last batch back, and overlapping
    runs held the periodic queue's children, where the chain watcher's and the
    webhook sweeper's 15 s ticks expired unread. The run stops starting
    batches after its budget, well inside its 60 s interval; the next tick
    carries on."""
    from celery.exceptions import SoftTimeLimitExceeded

    from jopay_project.celery import app
    from payments import tasks
    from payments.services import closing as service

    for _ in range(7):
        make_request(merchant, expires_in=-1)
    clock = {"now": 1000.0, "started": 1000.0}
    real_batch = service._expire_batch

    def slow_batch(**kwargs):
        clock["now"] += 30.0  # each batch of this backlog takes 30 s
        if (
            clock["now"] - clock["started"]
            > tasks.expire_due_requests_task.soft_time_limit
        ):
            raise SoftTimeLimitExceeded()  # what Celery raises in the task
        return real_batch(**kwargs)

    monkeypatch.setattr(service, "EXPIRE_BATCH_SIZE", 2)
    monkeypatch.setattr(service, "_expire_batch", slow_batch)
    monkeypatch.setattr(service, "monotonic", lambda: clock["now"], raising=False)

    assert expire_due_requests_task() == 4  # two batches, then out of budget
    assert PaymentRequest.objects.filter(status="expired").count() == 4
    clock["started"] = clock["now"]  # the next tick
    assert expire_due_requests_task() == 3
    assert WebhookEvent.objects.filter(type="request.expired").count() == 7
    interval = app.conf.beat_schedule["expire-due-requests"]["schedule"]
    assert interval > tasks.EXPIRE_BUDGET_SECONDS
