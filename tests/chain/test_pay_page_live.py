"""The pay page's script in headless Chromium (D16, D22, D27, D32): every state
change is shown, the deadline counts down and closes the send UI, and status
polling stops or backs off when it should. Real anvil, real Chromium; the proof
task runs on Celery's eager path in the live server's thread."""

from __future__ import annotations

import re
import threading
import time
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from payments.models import PaymentRequest
from payments.models.requests import PROOF_GRACE
from payments.proofs.services import proof_attach

from .conftest import CHAIN_ID, PAYERS, send_token

pytestmark = [
    pytest.mark.chain,
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

PR = PaymentRequest
GRACE_HEADING = "Already paid before it expired?"


class StatusPolls:
    """Times of the page's ``/status`` requests (seconds, monotonic)."""

    def __init__(self, page):
        self.times: list[float] = []
        self._lock = threading.Lock()
        page.on("request", self._seen)

    def _seen(self, request) -> None:
        if request.url.endswith("/status"):
            with self._lock:
                self.times.append(time.monotonic())

    @property
    def count(self) -> int:
        with self._lock:
            return len(self.times)


def open_page(page, live_server, pr):
    page.goto(f"{live_server.url}/pay/{pr.pk}")


def submit_hash(page, tx_hash: str) -> None:
    page.get_by_test_id("tx-hash").fill(tx_hash)
    page.get_by_role("button", name="Submit transaction").click()


def submit_and_see_it_taken(page, tx_hash: str) -> None:
    """Submit, then see the page's own acknowledgement (before any verdict)."""
    submit_hash(page, tx_hash)
    expect(page.get_by_test_id("message")).to_contain_text("Transaction received")
    expect(page.get_by_test_id("proof-card")).to_be_hidden()


# --- every verdict is shown ---------------------------------------------------------


def test_each_mismatched_hash_is_shown_also_the_second_with_the_same_reason(
    live_server, page, eager_celery, w3, usdc, local_chain, make_request
):
    pr = make_request(usdc_micro=12_000_001)
    message = page.get_by_test_id("message")
    status = page.get_by_test_id("status")
    open_page(page, live_server, pr)

    # A first hash that underpays: the page says so, sends the customer to the
    # merchant (the smaller amount arrived) and still takes another hash.
    tx_a = send_token(
        w3, usdc, payer=PAYERS[0], to=pr.receiving_address, value=1_000_000
    )
    submit_and_see_it_taken(page, tx_a)
    expect(message).to_contain_text(tx_a)
    expect(message).to_contain_text("Please contact")
    expect(status).not_to_have_text("Verifying payment…")

    # Loaded in the mismatch state now; a second hash fails for the same reason:
    # the verdict is shown too, the page does not stay on "Verifying payment…".
    tx_b = send_token(
        w3, usdc, payer=PAYERS[0], to=pr.receiving_address, value=2_000_000
    )
    submit_and_see_it_taken(page, tx_b)
    expect(message).to_contain_text(tx_b)
    expect(status).not_to_have_text("Verifying payment…")
    expect(page.get_by_test_id("proof-card")).to_be_visible()
    pr.refresh_from_db()
    assert (pr.proof_status, pr.tx_hash, pr.mismatch_reason) == (
        "mismatch",
        tx_b,
        "underpaid",
    )

    # The same hash again: attached, judged again, shown again.
    submit_and_see_it_taken(page, tx_b)
    expect(message).to_contain_text(tx_b)
    expect(status).not_to_have_text("Verifying payment…")


def test_a_proof_found_by_someone_else_while_open_is_shown(
    live_server, page, w3, usdc, local_chain, make_request
):
    pr = make_request()
    open_page(page, live_server, pr)
    expect(page.get_by_test_id("send-card")).to_be_visible()

    proof_attach(
        request=pr,
        chain_id=CHAIN_ID,
        tx_hash="0x" + "c3" * 32,
        source="merchant",
        enqueue=False,
    )

    expect(page.get_by_test_id("status")).to_have_text("Verifying payment…")
    expect(page.get_by_test_id("proof-card")).to_have_count(0)
    expect(page.get_by_test_id("send-card")).to_have_count(0)


# --- a second hash while one is being checked ---------------------------------------


def test_a_second_hash_while_one_is_checked_gets_a_truthful_message(
    live_server, page, local_chain, make_request
):
    pr = make_request()
    # The page has not seen the attach yet (its status poll answers the old state).
    page.route(
        "**/status",
        lambda route: route.fulfill(
            status=200,
            content_type="application/json",
            body='{"ok": true, "status": "opened", "proof_status": "none", '
            '"mismatch_reason": null, "tx_hash": null}',
        ),
    )
    open_page(page, live_server, pr)
    proof_attach(
        request=pr,
        chain_id=CHAIN_ID,
        tx_hash="0x" + "d4" * 32,
        source="customer",
        enqueue=False,
    )

    submit_hash(page, "0x" + "e5" * 32)

    error = page.get_by_test_id("proof-error")
    expect(error).to_contain_text("A transaction is already being checked")
    assert "no longer accepts payments" not in error.inner_text()


# --- the deadline -------------------------------------------------------------------


def test_countdown_then_the_send_ui_closes_at_expiry_and_the_hash_form_stays(
    live_server, page, local_chain, make_request
):
    pr = make_request(expires_in=timedelta(seconds=6))
    open_page(page, live_server, pr)

    expect(page.get_by_test_id("expires")).to_contain_text("left")
    expect(page.get_by_test_id("countdown")).to_have_text(re.compile(r"^· 0:0\d left$"))
    expect(page.get_by_test_id("send-card")).to_be_visible()
    expect(page.get_by_test_id("pay-wallet")).to_be_enabled()
    expect(page.get_by_test_id("grace-note")).to_be_hidden()

    # expires_at passes (the 60 s expiry task has not run: status still opened).
    expect(page.get_by_test_id("send-card")).to_be_hidden(timeout=10_000)
    expect(page.get_by_test_id("pay-wallet")).to_be_disabled()
    expect(page.get_by_test_id("status")).to_have_text("Expired")
    expect(page.get_by_test_id("proof-card")).to_be_visible()
    expect(page.locator("#proof-heading")).to_have_text(GRACE_HEADING)
    expect(page.get_by_test_id("grace-note")).to_be_visible()
    expect(page.get_by_test_id("grace-note")).to_contain_text(
        re.compile(r"\d+:\d\d left")
    )
    pr.refresh_from_db()
    assert pr.status == PR.Status.OPENED


def test_end_of_the_grace_closes_the_page_and_stops_polling(
    live_server, page, local_chain, make_request
):
    pr = make_request(
        status=PR.Status.EXPIRED, expires_in=-(PROOF_GRACE - timedelta(seconds=5))
    )
    polls = StatusPolls(page)
    open_page(page, live_server, pr)
    expect(page.get_by_test_id("proof-card")).to_be_visible()
    expect(page.get_by_test_id("closed")).to_be_hidden()

    expect(page.get_by_test_id("closed")).to_be_visible(timeout=10_000)
    expect(page.get_by_test_id("proof-card")).to_be_hidden()
    seen = polls.count
    page.wait_for_timeout(7_000)
    assert polls.count == seen


# --- status polling -----------------------------------------------------------------


def test_a_closed_page_never_polls(live_server, page, local_chain, make_request):
    pr = make_request(status=PR.Status.EXPIRED, expires_in=-timedelta(hours=2))
    polls = StatusPolls(page)
    open_page(page, live_server, pr)
    expect(page.get_by_test_id("closed")).to_be_visible()
    page.wait_for_timeout(7_000)
    assert polls.count == 0


def test_polling_stops_on_404(live_server, page, local_chain, make_request):
    pr = make_request()
    page.route(
        "**/status",
        lambda route: route.fulfill(
            status=404,
            content_type="application/json",
            body='{"ok": false, "error": "not_found", "message": "Not found."}',
        ),
    )
    polls = StatusPolls(page)
    open_page(page, live_server, pr)
    page.wait_for_timeout(10_000)
    assert polls.count == 1


def test_polling_waits_out_a_429_retry_after(
    live_server, page, local_chain, make_request
):
    pr = make_request()
    answered = []

    def limited_once(route):
        if not answered:
            answered.append(True)
            route.fulfill(
                status=429,
                headers={"Retry-After": "6"},
                content_type="application/json",
                body='{"ok": false, "error": "rate_limited", "message": "Slow down.", '
                '"retry_after": 6}',
            )
        else:
            route.continue_()

    page.route("**/status", limited_once)
    polls = StatusPolls(page)
    open_page(page, live_server, pr)
    page.wait_for_timeout(15_000)

    assert polls.count >= 3  # it resumed
    assert polls.times[1] - polls.times[0] >= 6  # but not before Retry-After
    # Then the normal pace again (3 s), not a burst.
    gaps = [b - a for a, b in zip(polls.times[1:], polls.times[2:], strict=False)]
    assert all(gap >= 2.5 for gap in gaps)
