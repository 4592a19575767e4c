"""The pay page's hash form on a slow connection (D27): one submission at a
time. Each well-formed post counts against the request's 10 per hour, so a
customer pressing "Submit transaction" again while the first post was still on
its way used up that allowance, and could then be locked out of submitting a
corrected hash after a mismatch."""

from __future__ import annotations

import re
import threading

import pytest
from playwright.sync_api import expect

from payments.models import PaymentRequest

from .conftest import CHAIN_ID

pytestmark = [
    pytest.mark.chain,
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

PR = PaymentRequest
HASH = "0x" + "5e" * 32


def test_a_slow_submission_is_sent_once(live_server, page, local_chain, make_request):
    pr = make_request()
    held = []
    lock = threading.Lock()

    def hold(route):
        with lock:
            held.append(route)

    page.route("**/proof", hold)
    page.goto(f"{live_server.url}/pay/{pr.pk}")
    page.get_by_label("Transaction hash").fill(HASH)
    submit = page.get_by_role("button", name="Submit transaction")
    submit.click()
    page.wait_for_timeout(300)
    # Pressed again (and by Enter) while the first post is still on its way.
    for _ in range(3):
        if submit.is_enabled():
            submit.click()
        page.get_by_label("Transaction hash").press("Enter")
    page.wait_for_timeout(500)
    assert len(held) == 1
    expect(submit).to_be_disabled()
    held[0].continue_()
    expect(page.get_by_test_id("status")).to_have_text("Verifying payment…")
    pr.refresh_from_db()
    assert pr.tx_hash == HASH
    assert pr.chain_id == CHAIN_ID


def test_a_refused_submission_gives_the_button_back(
    live_server, page, local_chain, make_request
):
    pr = make_request()
    page.goto(f"{live_server.url}/pay/{pr.pk}")
    page.get_by_label("Transaction hash").fill("0x1234")
    submit = page.get_by_role("button", name="Submit transaction")
    submit.click()
    expect(page.get_by_test_id("proof-error")).to_contain_text("not a transaction hash")
    expect(submit).to_be_enabled()
    page.get_by_label("Transaction hash").fill(HASH)
    submit.click()
    expect(page.get_by_test_id("status")).to_have_text("Verifying payment…")


def test_a_submission_that_hangs_gives_the_button_back(
    live_server, page, local_chain, make_request
):
    # A post never answered (a dead connection) must not leave the form stuck.
    pr = make_request()
    held = []
    page.route("**/proof", lambda route: held.append(route))
    page.clock.install()
    page.goto(f"{live_server.url}/pay/{pr.pk}")
    page.get_by_label("Transaction hash").fill(HASH)
    submit = page.get_by_role("button", name="Submit transaction")
    submit.click()
    expect(submit).to_be_disabled()
    page.clock.fast_forward(21_000)
    expect(page.get_by_test_id("proof-error")).to_have_text(
        "Network error. Please try again."
    )
    expect(submit).to_be_enabled()
    assert len(held) == 1


def test_a_rate_limited_hash_says_how_long_to_wait(
    live_server, page, client, local_chain, make_request
):
    # D27: 10 well-formed posts an hour per request. The script said "wait a
    # little" where the wait is up to an hour (the no-script form says how
    # long): a customer retried every minute and was refused every time.
    pr = make_request()
    url = f"/pay/{pr.pk}/proof"
    for _ in range(10):
        body = {"tx_hash": HASH, "chain_id": CHAIN_ID}
        response = client.post(url, body, content_type="application/json")
        assert response.status_code == 202
    # That hash was checked and did not match: the customer has another one.
    PR.objects.filter(pk=pr.pk).update(
        proof_status=PR.ProofStatus.MISMATCH,
        mismatch_reason=PR.MismatchReason.WRONG_RECIPIENT,
    )
    page.goto(f"{live_server.url}/pay/{pr.pk}")
    page.get_by_label("Transaction hash").fill("0x" + "6f" * 32)
    page.get_by_role("button", name="Submit transaction").click()
    expect(page.get_by_test_id("proof-error")).to_have_text(
        re.compile(
            r"Too many attempts\. Please try again in"
            r" (about \d+ minutes?|\d+ seconds?)\."
        )
    )
    # The script words a wait as the no-script page does.
    from payments.pay.presenters import wait_in_words

    for seconds in (1, 40, 59, 60, 61, 119, 3599, 3600):
        words = page.evaluate("s => window.JoPayFormat.waitInWords(s)", seconds)
        assert words == wait_in_words(seconds)
