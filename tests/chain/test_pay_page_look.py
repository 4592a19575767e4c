"""The pay page in headless Chromium: each state's badge looks different from
"Awaiting payment", the call to pay turns neutral when the page leaves open, and
a browser running no script submits the hash form and lands back on the page."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from payments.models import PaymentRequest

from .conftest import CHAIN_ID, PAYERS, send_token

pytestmark = [
    pytest.mark.chain,
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

PR = PaymentRequest
HASH = "0x" + "7c" * 32
LOOK = "e => getComputedStyle(e).backgroundColor + ' ' + getComputedStyle(e).color"


def badge_look(page, live_server, pr, text: str) -> str:
    page.goto(f"{live_server.url}/pay/{pr.pk}")
    expect(page.get_by_test_id("status")).to_have_text(text)
    return page.eval_on_selector("#pay-status", LOOK)


def test_expired_and_verifying_badges_do_not_look_like_awaiting(
    live_server, page, local_chain, make_request
):
    awaiting = badge_look(page, live_server, make_request(), "Awaiting payment")
    closed = make_request(status=PR.Status.EXPIRED, expires_in=-timedelta(hours=1))
    grace = make_request(status=PR.Status.EXPIRED, expires_in=-timedelta(minutes=2))
    checking = make_request(
        proof_status=PR.ProofStatus.ATTACHED, tx_hash=HASH, chain_id=CHAIN_ID
    )
    cancelled = make_request(status=PR.Status.CANCELLED)

    expired = badge_look(page, live_server, closed, "Expired")
    assert expired != awaiting
    # Expired has the look of Cancelled (no payment possible), in grace as well.
    assert expired == badge_look(page, live_server, cancelled, "Cancelled")
    assert badge_look(page, live_server, grace, "Expired") == expired
    verifying = badge_look(page, live_server, checking, "Verifying payment…")
    assert verifying not in (awaiting, expired)


def test_a_mismatch_message_with_its_hash_fits_a_phone_screen(
    live_server, browser, local_chain, make_request
):
    # The message quotes the 66-character hash, which has no break of its own:
    # at 390 px the page scrolled sideways (692 px wide).
    pr = make_request(
        proof_status=PR.ProofStatus.MISMATCH,
        tx_hash=HASH,
        chain_id=CHAIN_ID,
        mismatch_reason=PR.MismatchReason.UNDERPAID,
    )
    context = browser.new_context(viewport={"width": 390, "height": 844})
    try:
        phone = context.new_page()
        phone.goto(f"{live_server.url}/pay/{pr.pk}")
        expect(phone.get_by_test_id("message")).to_contain_text(HASH)
        widths = phone.evaluate(
            "() => [document.documentElement.scrollWidth, window.innerWidth]"
        )
        assert widths[0] <= widths[1]
    finally:
        context.close()


def test_a_memo_with_a_long_url_fits_a_phone_screen(
    live_server, browser, local_chain, make_request
):
    # A URL in the memo has no break of its own: at 375 px the page was 810 px
    # wide and the countdown was cut off.
    pr = make_request(
        memo="Order https://shop.example.com/orders/2026/12/06/"
        + "9f8e7d6c5b4a39281706f5e4d3c2b1a0" * 2
        + " thanks"
    )
    context = browser.new_context(viewport={"width": 375, "height": 812})
    try:
        phone = context.new_page()
        phone.goto(f"{live_server.url}/pay/{pr.pk}")
        widths = phone.evaluate(
            "() => [document.documentElement.scrollWidth, window.innerWidth]"
        )
        assert widths[0] <= widths[1]
    finally:
        context.close()


def test_at_expiry_the_script_turns_the_call_to_pay_neutral(
    live_server, page, local_chain, make_request
):
    pr = make_request(usdc_micro=25_000_123, expires_in=timedelta(seconds=5))
    page.goto(f"{live_server.url}/pay/{pr.pk}")
    line = page.get_by_test_id("usdc-line")
    copy = line.get_by_role("button", name="Copy")
    expect(line).to_contain_text("Send exactly 25.000123 USDC")
    expect(copy).to_be_visible()
    awaiting = page.eval_on_selector("#pay-status", LOOK)

    expect(page.get_by_test_id("status")).to_have_text("Expired", timeout=10_000)
    expect(line).to_have_text(
        re.compile(r"^\s*Amount:\s+25\.000123 USDC\s*$"), use_inner_text=True
    )
    expect(copy).to_be_hidden()
    # The script gives the badge the server's look for the state too.
    assert page.eval_on_selector("#pay-status", LOOK) != awaiting
    assert page.get_attribute("#pay-status", "class") == "badge grace bad"


@pytest.mark.parametrize("context_options", [{"java_script_enabled": False}])
def test_without_a_script_the_form_lands_back_on_the_page(
    live_server, page, eager_celery, w3, usdc, local_chain, make_request
):
    pr = make_request(usdc_micro=9_000_001)
    url = f"{live_server.url}/pay/{pr.pk}"
    page.goto(url)

    # A malformed hash: the page again, with the registry's message.
    page.get_by_test_id("tx-hash").fill("0x12")
    page.get_by_role("button", name="Submit transaction").click()
    expect(page).to_have_url(f"{url}?proof_error=invalid_tx_hash")
    expect(page.get_by_test_id("proof-error")).to_have_text(
        "That is not a transaction hash (0x followed by 64 hex characters)."
    )

    # A real transfer that underpays: the page shows the verdict, not JSON.
    tx = send_token(w3, usdc, payer=PAYERS[0], to=pr.receiving_address, value=1_000)
    page.get_by_test_id("tx-hash").fill(tx)
    page.get_by_role("button", name="Submit transaction").click()
    expect(page).to_have_url(url)
    expect(page.get_by_test_id("message")).to_contain_text(
        "sent less than this request asks for"
    )
    expect(page.get_by_test_id("message")).to_contain_text("Please contact")


@pytest.mark.parametrize("context_options", [{"java_script_enabled": False}])
def test_without_a_script_no_copy_or_print_button_pretends_to_work(
    live_server, page, local_chain, make_request
):
    # Copy and Print work through static/js/jopay.js only. With scripts off
    # they were drawn and did nothing when pressed: a customer who "copied"
    # the recipient address pasted whatever the clipboard held before into
    # the wallet. The address and amount stay on the page to select by hand.
    pr = make_request()
    page.goto(f"{live_server.url}/pay/{pr.pk}")
    expect(page.get_by_test_id("receiving-address")).to_be_visible()
    expect(page.locator("button[data-copy]:visible")).to_have_count(0)

    paid = make_request(
        status=PR.Status.PAID,
        proof_status=PR.ProofStatus.VERIFIED,
        chain_id=CHAIN_ID,
        tx_hash=HASH,
        verified_at=timezone.now(),
    )
    page.goto(f"{live_server.url}/pay/{paid.pk}/receipt")
    expect(page.get_by_test_id("receipt")).to_be_visible()
    expect(page.locator("button[data-print]:visible")).to_have_count(0)


def test_with_a_script_copy_and_print_are_offered(
    live_server, page, local_chain, make_request
):
    pr = make_request()
    page.goto(f"{live_server.url}/pay/{pr.pk}")
    expect(page.locator("button[data-copy]:visible")).to_have_count(2)
    paid = make_request(
        status=PR.Status.PAID,
        proof_status=PR.ProofStatus.VERIFIED,
        chain_id=CHAIN_ID,
        tx_hash=HASH,
        verified_at=timezone.now(),
    )
    page.goto(f"{live_server.url}/pay/{paid.pk}/receipt")
    expect(page.get_by_test_id("print")).to_be_visible()
