"""Helpers for the pay-page tests: the page's script data, a fake wallet and a
CSP watch."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import requests
from playwright.sync_api import expect

FAKE_WALLET = Path(__file__).with_name("fake_wallet.js").read_text()

# Every violation the page's policy reports, also across reloads: the listener
# is installed before any page script and reports through a Playwright binding.
_CSP_WATCH = """
document.addEventListener("securitypolicyviolation", function (e) {
  window.cspViolation(e.violatedDirective + " " + e.blockedURI + " at " +
                      (e.sourceFile || "") + ":" + e.lineNumber);
});
"""


def config_of(html: str) -> dict:
    """The pay page's script configuration (its ``pay-config`` JSON block)."""
    match = re.search(
        r'<script id="pay-config" type="application/json">(.*?)</script>', html
    )
    assert match, "the page carries its script's configuration"
    return json.loads(match.group(1))


def install_wallet(page, anvil, account: str, **options: Any) -> None:
    """``window.ethereum`` answering from anvil as ``account`` (fake_wallet.js).

    ``options`` make it act as another wallet would: ``chainId="0x1"`` (on
    another chain), ``fail={"method": {"code": 4902, "message": ...}}``,
    ``hang=["eth_sendTransaction"]`` (the prompt is never answered),
    ``hold=["eth_requestAccounts"]`` (its first call answers only once the test
    calls ``window.releaseWallet(method)``: a late answer),
    ``unknownChains=["0x7a69"]`` (switching there answers 4902 until the page
    calls ``wallet_addEthereumChain``).
    """

    def anvil_rpc(method: str, params: list) -> dict:
        return requests.post(
            anvil.url,
            json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params},
            timeout=10,
        ).json()

    page.expose_function("anvilRpc", anvil_rpc)
    page.add_init_script(
        FAKE_WALLET.replace("__ACCOUNT__", account).replace(
            "__OPTIONS__", json.dumps(options)
        )
    )


# What the page asks a wallet that is on another chain, up to the switch.
UNTIL_SWITCH = ["eth_requestAccounts", "eth_chainId", "wallet_switchEthereumChain"]


def wallet_calls(page) -> list[str]:
    """The methods the page asked the fake wallet for, in order."""
    return page.evaluate("JSON.parse(sessionStorage.getItem('walletCalls') || '[]')")


def wallet_params(page) -> dict[str, list]:
    """The params of each method's last call to the fake wallet."""
    return page.evaluate("JSON.parse(sessionStorage.getItem('walletParams') || '{}')")


def manual_payment_still_possible(page) -> None:
    """Paying by hand stays on the page: address, amount, copy buttons, the form."""
    expect(page.get_by_test_id("send-card")).to_be_visible()
    expect(page.get_by_test_id("receiving-address")).to_be_visible()
    expect(
        page.get_by_role("button", name="Copy the recipient address")
    ).to_be_visible()
    expect(page.get_by_role("button", name="Copy the amount")).to_be_visible()
    expect(page.get_by_test_id("pay-wallet")).to_be_enabled()
    expect(page.get_by_test_id("proof-card")).to_be_visible()


def watch_csp(page) -> list[str]:
    """A list that fills with the page's CSP violations and CSP console errors."""
    seen: list[str] = []

    def report(violation: str) -> None:
        seen.append(violation)

    page.expose_function("cspViolation", report)
    page.add_init_script(_CSP_WATCH)
    page.on(
        "console",
        lambda m: (
            seen.append(m.text)
            if "Content Security Policy" in m.text
            or "Content-Security-Policy" in m.text
            else None
        ),
    )
    return seen
