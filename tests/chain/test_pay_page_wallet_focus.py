"""Pay page a11y: a keyboard or screen-reader user who pressed 'Pay with browser
wallet' and had the wallet say no (rejected, already pending, another network,
no answer) is left on the button to try again, not on the page's body (the
button lost the focus when it was disabled while the wallet was asked)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from .conftest import PAYERS
from .pay_browser import install_wallet

pytestmark = [
    pytest.mark.chain,
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


@pytest.mark.parametrize(
    ("options", "said"),
    [
        (
            {"fail": {"eth_sendTransaction": {"code": 4001, "message": "denied"}}},
            "You rejected the request",
        ),
        (
            {"fail": {"eth_requestAccounts": {"code": -32002, "message": "pending"}}},
            "already waiting for you",
        ),
        ({"hang": ["eth_requestAccounts"]}, "did not answer"),
    ],
    ids=["rejected", "pending", "no-answer"],
)
def test_a_wallet_refusal_leaves_the_keyboard_user_on_the_wallet_button(
    live_server, page, anvil, local_chain, make_request, options, said
):
    pr = make_request()
    install_wallet(page, anvil, PAYERS[0], **options)
    page.goto(f"{live_server.url}/pay/{pr.pk}")
    wallet = page.get_by_test_id("pay-wallet")
    wallet.focus()
    page.keyboard.press("Enter")
    if "hang" in options:  # the popup closed without an answer
        page.wait_for_timeout(300)
        page.evaluate("window.dispatchEvent(new Event('blur'))")
        page.evaluate("window.dispatchEvent(new Event('focus'))")

    expect(page.locator("#wallet-note")).to_contain_text(said)
    expect(wallet).to_be_enabled()
    expect(wallet).to_be_focused()
