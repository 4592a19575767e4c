"""The browser-wallet button when the wallet never answers its connect prompt
(D22): the customer closed the extension's popup without answering, and some
wallets never reject. The button was left disabled for good; the page now
gives the prompt up (back on the page, or after a minute) and says so, and a
late answer to the given-up prompt never leads to a transfer (no second
payment beside a newer attempt's)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .conftest import PAYERS
from .pay_browser import install_wallet, manual_payment_still_possible, wallet_calls
from .test_pay_page_wallet_sent import paid_once

pytestmark = [
    pytest.mark.chain,
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

NO_ANSWER = (
    "Your wallet did not answer. Nothing was sent. Open your wallet, finish or"
    " close its request, then try again, or send the exact amount to the"
    " recipient address above and paste the transaction hash below."
)


def _leave_for_the_wallet_and_come_back(page) -> None:
    # The extension's popup takes the focus; closing it gives it back.
    page.evaluate("window.dispatchEvent(new Event('blur'))")
    page.wait_for_timeout(300)
    page.evaluate("window.dispatchEvent(new Event('focus'))")


def test_a_connect_prompt_never_answered_gives_the_button_back_after_a_minute(
    live_server, page, anvil, local_chain, make_request
):
    # An in-page wallet: the page never loses the focus, the prompt never answers.
    pr = make_request()
    install_wallet(page, anvil, PAYERS[0], hang=["eth_requestAccounts"])
    page.clock.install()
    page.goto(f"{live_server.url}/pay/{pr.pk}")
    wallet = page.get_by_test_id("pay-wallet")
    wallet.click()
    expect(page.locator("#wallet-note")).to_have_text("Connect your wallet…")
    expect(wallet).to_be_disabled()

    page.clock.run_for(30_000)
    expect(wallet).to_be_disabled()  # still waiting: a wallet may be slow
    page.clock.run_for(31_000)

    expect(page.locator("#wallet-note")).to_have_text(NO_ANSWER)
    manual_payment_still_possible(page)
    assert wallet_calls(page) == ["eth_requestAccounts"]


def test_coming_back_from_an_unanswered_popup_gives_the_button_back(
    live_server, page, anvil, local_chain, make_request
):
    pr = make_request()
    install_wallet(page, anvil, PAYERS[0], hang=["eth_requestAccounts"])
    page.goto(f"{live_server.url}/pay/{pr.pk}")
    wallet = page.get_by_test_id("pay-wallet")
    wallet.click()
    expect(wallet).to_be_disabled()

    _leave_for_the_wallet_and_come_back(page)

    expect(page.locator("#wallet-note")).to_have_text(NO_ANSWER, timeout=5000)
    manual_payment_still_possible(page)


def test_a_late_answer_to_a_given_up_prompt_never_pays_a_second_time(
    live_server, page, anvil, usdc, local_chain, make_request
):
    # The first connect prompt is given up; the customer pays with a second
    # attempt; then the first prompt's answer arrives after all.
    pr = make_request()
    before = usdc.functions.balanceOf(pr.receiving_address).call()
    install_wallet(page, anvil, PAYERS[0], hold=["eth_requestAccounts"])
    page.goto(f"{live_server.url}/pay/{pr.pk}")
    wallet = page.get_by_test_id("pay-wallet")
    wallet.click()
    _leave_for_the_wallet_and_come_back(page)
    expect(page.locator("#wallet-note")).to_have_text(NO_ANSWER, timeout=5000)

    wallet.click()
    expect(page.get_by_test_id("status")).to_have_text("Verifying payment…")
    page.evaluate("window.releaseWallet('eth_requestAccounts')")
    page.wait_for_timeout(1500)

    assert wallet_calls(page).count("eth_sendTransaction") == 1
    assert paid_once(usdc, pr, before)
    expect(wallet).to_be_hidden()


def test_a_late_answer_alone_sends_nothing(
    live_server, page, anvil, usdc, local_chain, make_request
):
    pr = make_request()
    before = usdc.functions.balanceOf(pr.receiving_address).call()
    install_wallet(page, anvil, PAYERS[0], hold=["eth_requestAccounts"])
    page.goto(f"{live_server.url}/pay/{pr.pk}")
    page.get_by_test_id("pay-wallet").click()
    _leave_for_the_wallet_and_come_back(page)
    expect(page.locator("#wallet-note")).to_have_text(NO_ANSWER, timeout=5000)

    page.evaluate("window.releaseWallet('eth_requestAccounts')")
    page.wait_for_timeout(1500)

    assert wallet_calls(page) == ["eth_requestAccounts"]
    assert usdc.functions.balanceOf(pr.receiving_address).call() == before
    expect(page.locator("#wallet-note")).to_have_text(NO_ANSWER)
    expect(page.get_by_test_id("pay-wallet")).to_be_enabled()


def test_a_transfer_prompt_is_never_given_up(
    live_server, page, anvil, local_chain, make_request
):
    # The wallet may still send it: the button stays disabled, whatever the focus.
    pr = make_request()
    install_wallet(page, anvil, PAYERS[0], hang=["eth_sendTransaction"])
    page.clock.install()
    page.goto(f"{live_server.url}/pay/{pr.pk}")
    wallet = page.get_by_test_id("pay-wallet")
    wallet.click()
    expect(page.locator("#wallet-note")).to_contain_text("Confirm the transfer")

    _leave_for_the_wallet_and_come_back(page)
    page.clock.run_for(120_000)

    expect(wallet).to_be_disabled()
    expect(page.locator("#wallet-note")).to_contain_text("Confirm the transfer")


def test_a_customer_still_in_the_wallets_popup_is_given_all_the_time_needed(
    live_server, page, anvil, local_chain, make_request
):
    # One popup asks to connect, then to switch network: the page lost the
    # focus before the switch was asked, and gets it back only when the popup
    # closes. A slow customer there is not cut off after a minute.
    pr = make_request()
    install_wallet(
        page,
        anvil,
        PAYERS[0],
        chainId="0x1",
        hold=["eth_requestAccounts"],
        hang=["wallet_switchEthereumChain"],
    )
    page.clock.install()
    page.goto(f"{live_server.url}/pay/{pr.pk}")
    wallet = page.get_by_test_id("pay-wallet")
    wallet.click()
    # The popup has the focus (a headless page keeps it: said as a real one would).
    page.evaluate("document.hasFocus = () => false")
    page.evaluate("window.dispatchEvent(new Event('blur'))")
    page.evaluate("window.releaseWallet('eth_requestAccounts')")
    expect(page.locator("#wallet-note")).to_contain_text("Switch your wallet")

    page.clock.run_for(180_000)
    expect(wallet).to_be_disabled()
    expect(page.locator("#wallet-note")).to_contain_text("Switch your wallet")

    page.evaluate("delete document.hasFocus")
    page.evaluate("window.dispatchEvent(new Event('focus'))")
    page.clock.run_for(3_000)
    expect(page.locator("#wallet-note")).to_have_text(NO_ANSWER)
    expect(wallet).to_be_enabled()
