"""The browser-wallet button when the wallet says no (D19, D22): each common
EIP-1193 error in the customer's words, a network the wallet lacks named with
its chain id while paying by hand stays possible, and the operator's RPC URLs
never reach the browser (they may embed a provider's API key)."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import expect

from payments.models import Chain

from .conftest import CHAIN_ID, PAYERS
from .pay_browser import (
    UNTIL_SWITCH,
    config_of,
    install_wallet,
    manual_payment_still_possible,
    wallet_calls,
)

pytestmark = pytest.mark.chain

SECRET_RPC = "https://polygon-mainnet.example-rpc.io/v2/sk_live_Zq8fTOPSECRET"
UNKNOWN_CHAIN = (
    "Your wallet does not have Local anvil yet. Add Local anvil (chain id 31337) to"
    " your wallet, then try again. Or send the exact amount to the recipient address"
    " above and paste the transaction hash below."
)
FAILED = (
    "Your wallet could not send the payment. Please try again, or send the exact"
    " amount to the recipient address above and paste the transaction hash below."
)
RAW_4902 = (
    'Unrecognized chain ID "0x7a69". Try adding the chain using '
    "wallet_addEthereumChain first."
)


def test_the_page_never_carries_the_operators_rpc_urls(
    client, local_chain, make_request
):
    Chain.objects.filter(pk=CHAIN_ID).update(rpc_urls=[SECRET_RPC])
    html = client.get(f"/pay/{make_request().pk}").content.decode()
    assert "TOPSECRET" not in html
    assert "example-rpc" not in html
    assert "rpc" not in json.dumps(config_of(html))


# --- in a browser -------------------------------------------------------------------


@pytest.fixture
def wallet_page(page, live_server, anvil, local_chain, make_request):
    """``open_with(**wallet_options)`` → a page on an open request, wallet injected
    (the shared ``page`` fails the test on a script error or CSP violation)."""
    pr = make_request()

    def open_with(**options):
        install_wallet(page, anvil, PAYERS[0], **options)
        page.goto(f"{live_server.url}/pay/{pr.pk}")
        return page

    return open_with


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "error",
    [
        {"code": 4902, "message": RAW_4902},
        # Mobile wallets wrap it: the outer code is a generic internal error.
        {
            "code": -32603,
            "message": RAW_4902,
            "data": {"originalError": {"code": 4902, "message": RAW_4902}},
        },
    ],
    ids=["4902", "wrapped-4902"],
)
def test_a_network_the_wallet_lacks_is_named_and_paying_by_hand_stays(
    wallet_page, error
):
    page = wallet_page(chainId="0x1", fail={"wallet_switchEthereumChain": error})
    page.get_by_test_id("pay-wallet").click()

    expect(page.locator("#wallet-note")).to_have_text(UNKNOWN_CHAIN)
    assert "Unrecognized" not in page.locator("#wallet-note").inner_text()
    # No wallet_addEthereumChain and no button for it: it would need an RPC URL,
    # and this chain has no public one (ours are secret; test_pay_page_add_chain).
    expect(page.get_by_test_id("add-chain")).to_be_hidden()
    assert wallet_calls(page) == UNTIL_SWITCH
    manual_payment_still_possible(page)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("method", "error", "text"),
    [
        (
            "eth_sendTransaction",
            {"code": 4001, "message": "MetaMask Tx Signature: User denied."},
            "You rejected the request in your wallet. Nothing was sent.",
        ),
        (
            "eth_requestAccounts",
            {
                "code": -32002,
                "message": "Request of type 'eth_requestAccounts' "
                "already pending for origin. Please wait.",
            },
            "Your wallet is already waiting for you: open it, finish or close that"
            " request, then try again.",
        ),
        (
            "eth_sendTransaction",
            {"code": -32603, "message": "Internal JSON-RPC error: execution reverted"},
            FAILED,
        ),
    ],
    ids=["rejected-4001", "pending-32002", "other"],
)
def test_wallet_errors_are_said_in_the_customers_words(
    wallet_page, method, error, text
):
    page = wallet_page(fail={method: error})
    page.get_by_test_id("pay-wallet").click()

    expect(page.locator("#wallet-note")).to_have_text(text)
    assert error["message"] not in page.locator("#wallet-note").inner_text()
    manual_payment_still_possible(page)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_wallet_that_says_it_switched_but_did_not_is_never_asked_to_send(
    wallet_page,
):
    """D19/D22: a wallet answering wallet_switchEthereumChain with success
    while staying on Ethereum would have sent the USDC there, and the page
    looked for it on the chosen chain until the 30-minute timeout."""
    page = wallet_page(chainId="0x1", ignoreSwitch=True)
    page.get_by_test_id("pay-wallet").click()

    expect(page.locator("#wallet-note")).to_have_text(
        "Your wallet is still on another network, not Local anvil (chain id 31337)."
        " Nothing was sent. Switch your wallet to Local anvil, then try again, or"
        " send the exact amount to the recipient address above and paste the"
        " transaction hash below."
    )
    assert wallet_calls(page) == [*UNTIL_SWITCH, "eth_chainId"]
    manual_payment_still_possible(page)
