"""The pay page's chain choice (D19, D22) in headless Chromium, with and
without a script: every accepted chain can be paid on, and the contract and
QR code shown are always those of the chain the customer reads they are for."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from payments.models import Chain

from .conftest import CHAIN_ID

pytestmark = [
    pytest.mark.chain,
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

OTHER_ID = 84532  # Base Sepolia: a testnet, so a test-mode request takes it too
OTHER_USDC = "0x036CbD53842c5426634e7929541eC2318f3dCF7e"


@pytest.fixture
def two_chains(local_chain):
    # Rendering the page asks no RPC: a URL is all "usable" needs (D19).
    Chain.objects.update_or_create(
        chain_id=OTHER_ID,
        defaults={
            "name": "Base Sepolia",
            "is_testnet": True,
            "usdc_address": OTHER_USDC,
            "rpc_urls": ["http://127.0.0.1:9"],
            "enabled": True,
        },
    )
    return local_chain


def panel(page, chain_id: int):
    return page.locator(f'.chain-panel[data-chain="{chain_id}"]')


@pytest.mark.parametrize("context_options", [{"java_script_enabled": False}])
def test_without_a_script_every_chain_can_be_paid_on(
    live_server, page, two_chains, make_request
):
    # The panels of all but the first chain were drawn hidden, and only the
    # script showed another one when the network select changed: without it
    # the select changed nothing, and a customer choosing Base Sepolia there
    # went on to read and scan the first chain's contract and QR code.
    pr = make_request()
    page.goto(f"{live_server.url}/pay/{pr.pk}")

    for chain_id, usdc in ((CHAIN_ID, two_chains.usdc_address), (OTHER_ID, OTHER_USDC)):
        expect(panel(page, chain_id)).to_be_visible()
        expect(panel(page, chain_id)).to_contain_text(usdc)
    # No control that does nothing without a script.
    expect(page.get_by_test_id("chain-select")).to_be_hidden()
    expect(page.get_by_test_id("pay-wallet")).to_be_hidden()


def test_with_a_script_the_select_shows_the_chosen_chain_only(
    live_server, page, two_chains, make_request
):
    pr = make_request()
    page.goto(f"{live_server.url}/pay/{pr.pk}")
    select = page.get_by_test_id("chain-select")

    expect(select).to_be_visible()
    expect(page.get_by_test_id("pay-wallet")).to_be_visible()
    expect(panel(page, CHAIN_ID)).to_be_visible()
    expect(panel(page, OTHER_ID)).to_be_hidden()

    select.select_option(str(OTHER_ID))
    expect(panel(page, OTHER_ID)).to_be_visible()
    expect(panel(page, CHAIN_ID)).to_be_hidden()
    # The hash form names the same network.
    expect(page.locator("#proof-chain")).to_have_value(str(OTHER_ID))
