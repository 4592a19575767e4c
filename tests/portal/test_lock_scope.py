"""Row locks on a request or merchant never lock its partner row.

``select_for_update().select_related("partner")`` without ``of=`` locks the
joined partner row too. Every event, request and merchant insert checks its
foreign key to the partner with a key-share lock, so while an attach (or a
watcher chunk of them) held the partner, every other write of that partner
waited, and a cancel holding another request deadlocked against it. Real
PostgreSQL locks here: one thread holds the attach open, the main thread
writes for the same partner under a short lock timeout.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from merchants.services import merchant_update
from payments.proofs.services import proof_attach
from tests.portal.conftest import make_request
from tests.portal.test_admin import TX
from webhooks.services import event_emit

pytestmark = pytest.mark.django_db(transaction=True)


def _holding(work) -> tuple[threading.Event, threading.Event, threading.Thread]:
    """Run ``work()`` in a transaction in a thread and keep it open until released."""
    holding, release = threading.Event(), threading.Event()

    def run():
        try:
            with transaction.atomic():
                work()
                holding.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    assert holding.wait(10)
    return holding, release, thread


def _write_for_partner_within_a_second(partner) -> None:
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = '1s'")
        event_emit(partner=partner, test_mode=True, type="webhook.test", data={})


def test_an_attach_in_progress_does_not_block_the_partners_other_writes(
    test_merchant, chain
):
    pr = make_request(test_merchant)
    _, release, thread = _holding(
        lambda: proof_attach(
            request=pr, chain_id=chain.chain_id, tx_hash=TX, source="admin",
            enqueue=False,
        )
    )  # fmt: skip
    try:
        _write_for_partner_within_a_second(test_merchant.partner)
    finally:
        release.set()
        thread.join(10)


def test_a_merchant_update_in_progress_does_not_block_the_partners_other_writes(
    test_merchant,
):
    _, release, thread = _holding(
        lambda: merchant_update(merchant=test_merchant, changes={"display_name": "x"})
    )
    try:
        _write_for_partner_within_a_second(test_merchant.partner)
    finally:
        release.set()
        thread.join(10)
