"""End to end in headless Chromium: pay with a (fake) browser wallet on real anvil.

The page's own script talks EIP-1193 to ``window.ethereum``. The injected
provider (``fake_wallet.js``) is a thin bridge: it forwards every call
(eth_requestAccounts, eth_chainId, wallet_switchEthereumChain,
eth_sendTransaction) as JSON-RPC to anvil, whose dev accounts are unlocked,
so clicking "Pay with browser wallet" really transfers test USDC on-chain.
Verification then runs on Celery's eager path: with ``task_always_eager``
the ``payments.verify_proof`` task enqueued on commit of the proof POST runs
in the live server's thread, which is the production path minus the broker.
"""

from __future__ import annotations

import pytest

from webhooks.models import WebhookEvent

from .conftest import CHAIN_ID, PAYERS
from .pay_browser import install_wallet, watch_csp

pytestmark = [
    pytest.mark.chain,
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


def test_pay_with_browser_wallet_until_verified(
    live_server, browser, eager_celery, anvil, usdc, local_chain, make_request
):
    pr = make_request(usdc_micro=31_415_926, return_url="https://shop.example/done")
    payer = PAYERS[2]
    before = usdc.functions.balanceOf(pr.receiving_address).call()

    page = browser.new_page()
    install_wallet(page, anvil, payer)
    violations = watch_csp(page)
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{live_server.url}/pay/{pr.pk}")
    assert page.get_by_test_id("usdc").inner_text() == "31.415926 USDC"

    page.get_by_test_id("pay-wallet").click()

    page.get_by_test_id("paid").wait_for(timeout=20_000)
    assert "Payment received" in page.content()
    assert page.get_by_role("link", name="Back to shop").get_attribute("href") == (
        "https://shop.example/done"
    )
    calls = page.evaluate("JSON.parse(sessionStorage.getItem('walletCalls'))")
    assert calls[:3] == ["eth_requestAccounts", "eth_chainId", "eth_sendTransaction"]
    assert errors == []

    # The transfer really happened on-chain, and the request is paid.
    assert usdc.functions.balanceOf(pr.receiving_address).call() == before + 31_415_926
    pr.refresh_from_db()
    assert (pr.status, pr.proof_status, pr.proof_source) == (
        "paid",
        "verified",
        "customer",
    )
    assert pr.payer_address == payer
    assert pr.chain_id == CHAIN_ID
    assert list(
        WebhookEvent.objects.filter(request_id=pr.pk)
        .order_by("sequence")
        .values_list("type", flat=True)
    ) == ["payment.proof_attached", "payment.proof_verified"]

    page.get_by_role("link", name="View receipt").click()
    page.get_by_test_id("receipt").wait_for()
    assert pr.tx_hash in page.content()
    assert violations == []  # the wallet flow runs under the pay page's CSP
    page.close()
