"""The pay page when its status polls fail (D16, D27): a calm, announced "Connection
lost — retrying…", retries that back off (never faster than the normal pace, so
within the 120/min per IP), the note gone at the first good answer, and no state
taken from a bad answer or left standing unconfirmed at the end of the grace."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from payments.models import PaymentRequest
from payments.models.requests import PROOF_GRACE

from .conftest import CHAIN_ID, PAYERS

pytestmark = [
    pytest.mark.chain,
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

PR = PaymentRequest
LOST = (
    "Connection lost — retrying… The status above may be out of date until we"
    " reconnect."
)
# What the page's fetch may get instead of its JSON.
BAD_ANSWERS = [
    {"status": 503, "content_type": "text/html", "body": "<h1>502 Bad Gateway</h1>"},
    # A captive portal answers 200 with its own page.
    {"status": 200, "content_type": "text/html", "body": "<html>Sign in to Wi-Fi"},
    # JSON, but not ours: no verdict may come from it.
    {
        "status": 200,
        "content_type": "application/json",
        "body": '{"status": "cancelled", "proof_status": "verified"}',
    },
]


class FlakyStatus:
    """Answers the page's ``/status`` polls with ``BAD_ANSWERS`` first, then lets
    them through; records when each poll was made."""

    def __init__(self, page, answers):
        self.answers = list(answers)
        self.times: list[float] = []
        self._lock = threading.Lock()
        page.route("**/status", self._answer)

    def _answer(self, route) -> None:
        with self._lock:
            self.times.append(time.monotonic())
            answer = self.answers.pop(0) if self.answers else None
        if answer is None:
            route.continue_()
        else:
            route.fulfill(**answer)


def test_failed_polls_say_connection_lost_back_off_and_clear_on_success(
    live_server, page, local_chain, make_request
):
    pr = make_request()
    status = FlakyStatus(page, BAD_ANSWERS)
    page.goto(f"{live_server.url}/pay/{pr.pk}")
    note = page.get_by_test_id("connection")
    badge = page.get_by_test_id("status")
    expect(note).to_be_hidden()
    expect(note).to_have_attribute("role", "status")
    expect(note).to_have_attribute("aria-live", "polite")

    # The first bad answer: said, the status kept but marked unconfirmed.
    expect(note).to_have_text(LOST)
    expect(note).to_be_visible()
    expect(badge).to_have_attribute("data-stale", "")
    # Through every bad answer: still the last good state, never one made up.
    while len(status.times) < len(BAD_ANSWERS):
        expect(badge).to_have_text("Awaiting payment")
        expect(page.get_by_test_id("send-card")).to_be_visible()
        page.wait_for_timeout(250)

    # The first good answer takes the note and the mark away.
    expect(note).to_be_hidden(timeout=20_000)
    expect(note).to_have_text("")
    expect(badge).not_to_have_attribute("data-stale", "")
    expect(badge).to_have_text("Awaiting payment")

    # Backed off: 3 s, then 6 s, then 12 s (each plus up to 1 s of jitter).
    gaps = [b - a for a, b in zip(status.times, status.times[1:], strict=False)]
    assert len(gaps) >= 3
    assert 2.5 <= gaps[0] < 5.5
    assert 5.5 <= gaps[1] < 8.5
    assert 11.5 <= gaps[2] < 14.5


def test_a_poll_that_hangs_is_a_lost_connection_too(
    live_server, page, local_chain, make_request
):
    pr = make_request()
    hung = []
    # The first poll is never answered (a dead connection, no error).
    page.route(
        "**/status",
        lambda route: hung.append(route) if not hung else route.continue_(),
    )
    page.goto(f"{live_server.url}/pay/{pr.pk}")
    note = page.get_by_test_id("connection")
    expect(note).to_have_text(LOST, timeout=15_000)
    expect(note).to_be_hidden(timeout=10_000)  # the retry got through


def test_a_payment_made_while_offline_over_the_grace_end_is_shown_on_reconnect(
    live_server, context, page, local_chain, make_request
):
    # In the grace with seconds left; the connection drops; the grace ends; the
    # chain watcher verifies a payment meanwhile. The page used to stop polling at
    # the end of the grace and say "expired" for good, over a paid request.
    pr = make_request(
        status=PR.Status.EXPIRED, expires_in=-(PROOF_GRACE - timedelta(seconds=6))
    )
    polls: list[str] = []
    page.on("request", lambda r: polls.append(r.url) if "/status" in r.url else None)
    page.goto(f"{live_server.url}/pay/{pr.pk}")
    expect(page.get_by_test_id("grace-note")).to_be_visible()
    context.set_offline(True)

    expect(page.get_by_test_id("connection")).to_have_text(LOST)
    expect(page.get_by_test_id("closed")).to_be_visible(timeout=10_000)
    PR.objects.filter(pk=pr.pk).update(
        status=PR.Status.PAID,
        proof_status=PR.ProofStatus.VERIFIED,
        proof_source=PR.ProofSource.TRAILS_ON_CHAIN,
        chain_id=CHAIN_ID,
        tx_hash="0x" + "8a" * 32,
        payer_address=PAYERS[0],
        verified_at=timezone.now(),
    )
    # Still trying after the grace's end (not given up on an unconfirmed state).
    tried = len(polls)
    page.wait_for_timeout(9_000)  # the backoff's next try is at most 8 s away
    assert len(polls) > tried

    context.set_offline(False)  # the "online" event: it tries at once
    expect(page.get_by_test_id("paid")).to_be_visible(timeout=5_000)
    expect(page.get_by_test_id("status")).to_have_text("Paid")
