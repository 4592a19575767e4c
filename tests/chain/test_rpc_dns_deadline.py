"""Looking up an RPC node's name counts against the call's deadline (D19, D35).

urllib3 resolved the name inside ``create_connection`` with no timeout: a
resolver slow to answer (glibc waits 5 s a try, twice, per name server) held
a re-verify past its 10 s and a check past its budget, before the connect
timeout even started. Only the system resolver is slowed here (no DNS server
runs in the tests); the node is the real anvil.
"""

from __future__ import annotations

import socket
import threading
import time
from urllib.parse import urlsplit

import pytest

from payments.chain import rpc_http
from payments.chain.rpc import ChainClient, RpcUnavailable

pytestmark = pytest.mark.chain

NODE_NAME = "slow-resolver-node.test"


@pytest.fixture
def resolver(monkeypatch):
    """``resolver["seconds"] = n``: the system resolver answers ``NODE_NAME``
    (as 127.0.0.1) after n seconds; ``resolver["asked"]`` counts its look-ups."""
    state = {"seconds": 0.0, "asked": 0}
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        if host == NODE_NAME:
            state["asked"] += 1
            time.sleep(state["seconds"])
            return real("127.0.0.1", *args, **kwargs)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(rpc_http.socket, "getaddrinfo", getaddrinfo)
    # No kept-alive connection from an earlier test: each call here connects.
    monkeypatch.setattr(rpc_http, "_sessions", threading.local())
    return state


@pytest.fixture
def named_node(local_chain, anvil):
    """The local chain's node, reached by a name instead of 127.0.0.1."""
    port = urlsplit(anvil.url).port
    local_chain.rpc_urls = [f"http://{NODE_NAME}:{port}"]
    return local_chain


def test_a_resolver_slower_than_the_budget_ends_the_call_at_the_budget(
    named_node, resolver
):
    resolver["seconds"] = 6
    client = ChainClient(named_node, budget=1.5)
    started = time.monotonic()
    with pytest.raises(RpcUnavailable):
        client.block_number()
    elapsed = time.monotonic() - started
    # Was 6 s (the look-up) before the connect even began.
    assert elapsed < 1.5 + 0.5
    assert resolver["asked"] == 1


def test_a_look_up_within_the_deadline_leaves_the_call_its_answer(named_node, resolver):
    # A resolver answering after 1 s of a 2 s timeout leaves the connect and
    # the answer the second that is left, not nothing.
    resolver["seconds"] = 1.0
    client = ChainClient(named_node, timeout=2.0)
    assert client.block_number() >= 0
    assert resolver["asked"] == 1


def test_a_node_reached_by_name_answers_through_the_resolved_address(
    named_node, resolver, w3
):
    client = ChainClient(named_node)
    assert client.block_number() == w3.eth.block_number
    assert resolver["asked"] >= 1
