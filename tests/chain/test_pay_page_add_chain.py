"""A wallet that lacks the request's chain (D19, D22): with a public RPC URL the
page offers "Add <network> to your wallet" (wallet_addEthereumChain, EIP-3085)
with public data only, then switches and pays; without one it keeps asking the
customer to add the network. The operator's RPC URLs never reach the page, and
paying by hand stays possible throughout."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from payments.models import Chain
from payments.pay.add_chain import add_chain_params

from .conftest import CHAIN_ID, PAYERS
from .pay_browser import (
    UNTIL_SWITCH,
    config_of,
    install_wallet,
    manual_payment_still_possible,
    wallet_calls,
    wallet_params,
)
from .test_pay_page_wallet import UNKNOWN_CHAIN  # the words without a public RPC

pytestmark = pytest.mark.chain

PUBLIC = "https://rpc.example.org/public"
SECRET_RPC = "https://polygon-mainnet.example-rpc.io/v2/sk_live_Zq8fTOPSECRET"
EXPLORER = "https://explorer.example/tx/{tx}"
ETHER = {"name": "Ether", "symbol": "ETH", "decimals": 18}
ADD_CHAIN = {
    "chainId": "0x7a69",
    "chainName": "Local anvil",
    "nativeCurrency": ETHER,
    "rpcUrls": [PUBLIC],
    "blockExplorerUrls": ["https://explorer.example"],
}
OFFER = (
    "Your wallet does not have Local anvil yet. Add it with the button below, then"
    " confirm the payment in your wallet. Or send the exact amount to the recipient"
    " address above and paste the transaction hash below."
)


def publish(anvil, public_rpc_url: str = PUBLIC) -> None:
    """The anvil chain with a secret RPC URL first and, maybe, a public one."""
    Chain.objects.filter(pk=CHAIN_ID).update(
        rpc_urls=[SECRET_RPC, anvil.url],
        public_rpc_url=public_rpc_url,
        explorer_tx_url=EXPLORER,
    )


def assert_no_private_rpc(text: str, anvil) -> None:
    for private in (SECRET_RPC, "TOPSECRET", "example-rpc", anvil.url):
        assert private not in text


# --- what the page carries --------------------------------------------------------


def test_the_page_carries_exactly_the_public_add_chain_data(
    client, anvil, local_chain, make_request
):
    publish(anvil)
    html = client.get(f"/pay/{make_request().pk}").content.decode()
    (chain,) = config_of(html)["chains"]
    assert chain["add_chain"] == ADD_CHAIN
    assert_no_private_rpc(html, anvil)


def test_without_a_public_rpc_url_the_page_carries_no_add_chain_data(
    client, anvil, local_chain, make_request
):
    publish(anvil, public_rpc_url="")
    html = client.get(f"/pay/{make_request().pk}").content.decode()
    (chain,) = config_of(html)["chains"]
    assert "add_chain" not in chain
    assert_no_private_rpc(html, anvil)


def test_polygon_is_added_with_its_own_gas_token_and_explorer(seeded_chains):
    polygon = Chain.objects.get(pk=137)
    polygon.public_rpc_url = "https://polygon-rpc.com"
    assert add_chain_params(polygon) == {
        "chainId": "0x89",
        "chainName": "Polygon",
        "nativeCurrency": {"name": "POL", "symbol": "POL", "decimals": 18},
        "rpcUrls": ["https://polygon-rpc.com"],
        "blockExplorerUrls": ["https://polygonscan.com"],
    }


@pytest.mark.parametrize("explorer", ["", "http://explorer.example/tx/{tx}"])
def test_no_block_explorer_is_given_without_an_https_one(explorer):
    chain = Chain(
        chain_id=8453, name="Base", public_rpc_url=PUBLIC, explorer_tx_url=explorer
    )
    assert add_chain_params(chain) == {
        "chainId": "0x2105",
        "chainName": "Base",
        "nativeCurrency": ETHER,
        "rpcUrls": [PUBLIC],
    }


@pytest.mark.parametrize(
    "url", ["", "http://rpc.example.org", "https://key:secret@rpc.example.org"]
)
def test_no_add_chain_data_without_a_publishable_url(url):
    # Also for a row written past configure_chain and the admin (shell, SQL).
    assert (
        add_chain_params(Chain(chain_id=1, name="Ethereum", public_rpc_url=url)) is None
    )


# --- in a browser -------------------------------------------------------------------


@pytest.fixture
def open_page(page, live_server, anvil, local_chain, make_request):
    """``open_page(public_rpc_url, **wallet_options)`` → the page of an open
    request, a wallet on chain 0x1 that lacks the anvil chain injected."""

    def open_with(public_rpc_url: str = PUBLIC, **options):
        publish(anvil, public_rpc_url)
        pr = make_request()
        install_wallet(
            page, anvil, PAYERS[0], chainId="0x1", unknownChains=["0x7a69"], **options
        )
        page.goto(f"{live_server.url}/pay/{pr.pk}")
        return page

    return open_with


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_wallet_is_offered_the_chain_then_switches_and_is_asked_to_pay(
    open_page, anvil
):
    # The transfer prompt stays open: the flow has reached it.
    page = open_page(hang=["eth_sendTransaction"])
    add = page.get_by_test_id("add-chain")
    note = page.locator("#wallet-note")
    expect(add).to_be_hidden()
    page.get_by_test_id("pay-wallet").click()

    expect(note).to_have_text(OFFER)
    expect(add).to_be_visible()
    expect(add).to_have_accessible_name("Add Local anvil to your wallet")
    expect(add).to_be_focused()  # the next thing to press
    assert wallet_calls(page) == UNTIL_SWITCH
    manual_payment_still_possible(page)

    add.click()
    expect(note).to_have_text(
        "Confirm the transfer of exactly 25.000123 USDC in your wallet…"
    )
    expect(add).to_be_hidden()
    assert wallet_calls(page)[3:] == [
        "wallet_addEthereumChain",
        "wallet_switchEthereumChain",
        "eth_chainId",  # switched? (wallet.js asks again before sending)
        "eth_sendTransaction",
    ]
    params = wallet_params(page)
    assert params["wallet_addEthereumChain"] == [ADD_CHAIN]
    assert params["wallet_switchEthereumChain"] == [{"chainId": "0x7a69"}]
    assert_no_private_rpc(page.content(), anvil)
    assert_no_private_rpc(str(params), anvil)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_refusing_to_add_the_chain_keeps_the_offer_and_paying_by_hand(open_page):
    page = open_page(
        fail={"wallet_addEthereumChain": {"code": 4001, "message": "User rejected"}}
    )
    page.get_by_test_id("pay-wallet").click()
    page.get_by_test_id("add-chain").click()

    expect(page.locator("#wallet-note")).to_have_text(
        "You did not add Local anvil to your wallet. Nothing was sent. Try again with"
        " the button below, or send the exact amount to the recipient address above"
        " and paste the transaction hash below."
    )
    expect(page.get_by_test_id("add-chain")).to_be_enabled()
    assert wallet_calls(page)[3:] == ["wallet_addEthereumChain"]
    manual_payment_still_possible(page)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_wallet_that_will_not_take_the_chain_asks_the_customer_to_add_it(
    open_page,
):
    page = open_page(
        fail={"wallet_addEthereumChain": {"code": -32602, "message": "Invalid params"}}
    )
    page.get_by_test_id("pay-wallet").click()
    page.get_by_test_id("add-chain").click()

    expect(page.locator("#wallet-note")).to_have_text(UNKNOWN_CHAIN)
    expect(page.get_by_test_id("add-chain")).to_be_hidden()
    expect(page.get_by_test_id("pay-wallet")).to_be_focused()
    manual_payment_still_possible(page)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_without_a_public_rpc_url_the_customer_is_asked_to_add_it_as_before(
    open_page, anvil
):
    page = open_page(public_rpc_url="")
    page.get_by_test_id("pay-wallet").click()

    expect(page.locator("#wallet-note")).to_have_text(UNKNOWN_CHAIN)
    expect(page.get_by_test_id("add-chain")).to_be_hidden()
    assert wallet_calls(page) == UNTIL_SWITCH
    manual_payment_still_possible(page)
    assert_no_private_rpc(page.content(), anvil)
