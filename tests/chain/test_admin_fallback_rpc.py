"""The chain admin tells staff about an unusable fallback RPC URL (D19, D31)."""

from __future__ import annotations

import time

import pytest
from django.contrib.messages import get_messages

from payments.chain.devnode import free_port
from payments.models import Chain

from .conftest import json_rpc_server

CHAINS = "/admin/payments/chain/"
CHAIN_ID = 31339


def _fresh_node(call: dict, raw: bytes) -> dict:
    """A fresh node of ``CHAIN_ID``: its id, and a head mined just now."""
    if call["method"] == "eth_chainId":
        result = hex(CHAIN_ID)
    else:  # eth_getBlockByNumber("latest")
        result = {
            "number": "0x64",
            "hash": "0x" + "ab" * 32,
            "timestamp": hex(int(time.time())),
        }
    return {"jsonrpc": "2.0", "id": call["id"], "result": result}


@pytest.fixture
def node_url():
    """A JSON-RPC peer on loopback answering as a fresh node of ``CHAIN_ID``."""
    with json_rpc_server(_fresh_node) as url:
        yield url


@pytest.mark.django_db(transaction=True)
def test_the_admin_warns_about_a_dead_fallback_rpc(admin_client, node_url):
    # D19: the URLs are tried in turn. Saved with a working first URL and a
    # dead second one, the admin said nothing: the fallback was never probed,
    # and staff learnt of it only once the first failed and nothing answered.
    dead = f"http://127.0.0.1:{free_port()}"
    response = admin_client.post(
        f"{CHAINS}add/",
        {
            "chain_id": str(CHAIN_ID),
            "name": "Anvil 3",
            "usdc_address": "0x5fbdb2315678afecb367f032d93f642f64180aa3",
            "decimals": "6",
            "confirmations": "1",
            "kind": "local",
            "rpc_urls_text": f"{node_url}\n{dead}",
        },
    )

    assert response.status_code == 302
    assert Chain.objects.get(pk=CHAIN_ID).last_scanned_block == 99  # head 100 - 1
    said = [str(m) for m in get_messages(response.wsgi_request)]
    warnings = [m for m in said if "RPC URL 2 of 2" in m]
    assert len(warnings) == 1
    assert dead not in warnings[0]
