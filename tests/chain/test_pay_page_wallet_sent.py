"""The browser-wallet button once the wallet has sent the transfer (D21, D22):
the USDC has left the customer's wallet, so nothing on the page may invite
paying again, whatever happens to the hash's post afterwards (a network error,
a rate limit): the customer submits the hash that is already in the form."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from payments.models import PaymentRequest

from .conftest import CHAIN_ID, PAYERS
from .pay_browser import install_wallet, wallet_calls

pytestmark = [
    pytest.mark.chain,
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

PR = PaymentRequest


def paid_once(usdc, pr, before: int) -> bool:
    return usdc.functions.balanceOf(pr.receiving_address).call() == (
        before + pr.usdc_micro
    )


def test_a_lost_hash_post_after_the_wallet_sent_never_invites_a_second_payment(
    live_server, page, anvil, usdc, local_chain, make_request
):
    pr = make_request()
    before = usdc.functions.balanceOf(pr.receiving_address).call()
    install_wallet(page, anvil, PAYERS[0])
    page.route("**/proof", lambda route: route.abort())  # the connection drops
    page.goto(f"{live_server.url}/pay/{pr.pk}")
    wallet = page.get_by_test_id("pay-wallet")
    wallet.click()

    expect(page.get_by_test_id("proof-error")).to_have_text(
        "Network error. Please try again."
    )
    assert paid_once(usdc, pr, before)
    # The transfer is made: the wallet button pays no second time, and the
    # note says what to do instead (the hash is in the form already).
    expect(wallet).to_be_disabled()
    expect(page.locator("#wallet-note")).to_contain_text("Do not pay again")
    tx_hash = page.get_by_test_id("tx-hash").input_value()
    assert re.fullmatch(r"0x[0-9a-f]{64}", tx_hash)
    page.wait_for_timeout(1500)  # the clock's render does not give it back
    expect(wallet).to_be_disabled()
    assert wallet_calls(page).count("eth_sendTransaction") == 1

    page.unroute("**/proof")
    page.get_by_role("button", name="Submit transaction").click()
    expect(page.get_by_test_id("status")).to_have_text("Verifying payment…")
    pr.refresh_from_db()
    assert (pr.tx_hash, pr.chain_id) == (tx_hash, CHAIN_ID)
    assert paid_once(usdc, pr, before)


def test_a_reload_after_the_lost_post_still_says_the_payment_was_sent(
    live_server, page, anvil, usdc, local_chain, make_request
):
    # "Network error": a customer reloads. The page drew itself afresh, waiting
    # for a payment with the wallet button, while the USDC had left already.
    pr = make_request()
    before = usdc.functions.balanceOf(pr.receiving_address).call()
    install_wallet(page, anvil, PAYERS[0])
    page.route("**/proof", lambda route: route.abort())
    page.goto(f"{live_server.url}/pay/{pr.pk}")
    page.get_by_test_id("pay-wallet").click()
    expect(page.get_by_test_id("proof-error")).to_have_text(
        "Network error. Please try again."
    )
    tx_hash = page.get_by_test_id("tx-hash").input_value()

    page.reload()
    expect(page.get_by_test_id("pay-wallet")).to_be_disabled()
    expect(page.locator("#wallet-note")).to_contain_text(f"Sent: {tx_hash}.")
    expect(page.locator("#wallet-note")).to_contain_text("Do not pay again")
    expect(page.get_by_test_id("tx-hash")).to_have_value(tx_hash)

    page.unroute("**/proof")
    page.get_by_role("button", name="Submit transaction").click()
    expect(page.get_by_test_id("status")).to_have_text("Verifying payment…")
    assert paid_once(usdc, pr, before)

    # Judged (here: the transfer failed): the page may ask for a payment again.
    PR.objects.filter(pk=pr.pk).update(
        proof_status=PR.ProofStatus.MISMATCH,
        mismatch_reason=PR.MismatchReason.TX_FAILED,
    )
    page.reload()
    expect(page.get_by_test_id("pay-wallet")).to_be_enabled()
    expect(page.locator("#wallet-note")).to_have_text("")


def test_a_reload_in_the_grace_still_holds_the_sent_hash_for_the_form(
    live_server, page, anvil, usdc, local_chain, make_request
):
    # Sent while open, the post lost, reloaded after expires_at: the send card
    # is gone, the hash form takes the hash until the grace ends (D16), and
    # the customer need not dig it out of the wallet.
    pr = make_request()
    install_wallet(page, anvil, PAYERS[0])
    page.route("**/proof", lambda route: route.abort())
    page.goto(f"{live_server.url}/pay/{pr.pk}")
    page.get_by_test_id("pay-wallet").click()
    expect(page.get_by_test_id("proof-error")).to_have_text(
        "Network error. Please try again."
    )
    tx_hash = page.get_by_test_id("tx-hash").input_value()
    PR.objects.filter(pk=pr.pk).update(expires_at=timezone.now() - timedelta(minutes=1))

    page.reload()
    expect(page.get_by_test_id("grace-note")).to_be_visible()
    expect(page.get_by_test_id("tx-hash")).to_have_value(tx_hash)
    page.unroute("**/proof")
    page.get_by_role("button", name="Submit transaction").click()
    expect(page.get_by_test_id("status")).to_have_text("Verifying payment…")
