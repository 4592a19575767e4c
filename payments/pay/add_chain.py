"""What the pay page gives a wallet that lacks the request's chain: the
parameter of ``wallet_addEthereumChain`` (EIP-3085), from public data only.

``Chain.rpc_urls`` are the operator's endpoints and may embed a provider's API
key: they never reach the page. Only ``Chain.public_rpc_url`` does, and without
one the page offers no "Add network" button (the customer adds it themselves).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from payments.chain.defaults import native_currency
from payments.models import Chain
from payments.models.chains import public_rpc_url_problem


def explorer_origin(explorer_tx_url: str) -> str | None:
    """``https://polygonscan.com/tx/{tx}`` → ``https://polygonscan.com``; None
    unless https (wallets refuse other block explorer URLs)."""
    try:
        parts = urlsplit(explorer_tx_url or "")
        host = parts.hostname
    except ValueError:  # "https://[scan.example/…": no URL at all
        return None
    if parts.scheme != "https" or not host or "@" in parts.netloc:
        return None
    return f"https://{parts.netloc}"


def add_chain_params(chain: Chain) -> dict[str, Any] | None:
    """The ``wallet_addEthereumChain`` parameter, or None without a usable
    public RPC URL (checked again here: a row written past ``configure_chain``
    and the admin still never hands a wallet anything but https)."""
    url = chain.public_rpc_url
    if not url or public_rpc_url_problem(url):
        return None
    params: dict[str, Any] = {
        "chainId": hex(chain.chain_id),
        "chainName": chain.name,
        "nativeCurrency": native_currency(chain.chain_id),
        "rpcUrls": [url],
    }
    explorer = explorer_origin(chain.explorer_tx_url)
    if explorer:
        params["blockExplorerUrls"] = [explorer]
    return params
