"""ChainClient failover and staleness (D19) against real anvil nodes."""

from __future__ import annotations

import time

import pytest

from payments.chain.devnode import AnvilNode, free_port
from payments.chain.rpc import ChainClient, RpcUnavailable
from payments.models import PaymentRequest
from payments.proofs.services import proof_attach, proof_verify

from .conftest import CHAIN_ID, PAYERS, json_rpc_server, send_token

pytestmark = pytest.mark.chain

PR = PaymentRequest


@pytest.fixture(scope="module")
def lagging_anvil():
    """A node on the same chain id whose head is an hour old (a stuck RPC)."""
    node = AnvilNode(chain_id=CHAIN_ID, timestamp=int(time.time()) - 3600).start()
    yield node
    node.stop()


@pytest.fixture
def public_testnet(local_chain, anvil):
    """The anvil chain flagged as a public testnet: not local, so staleness counts."""
    anvil.rpc("evm_mine")  # a fresh head on the good node
    local_chain.is_local = False
    local_chain.is_testnet = True
    local_chain.save()
    return local_chain


def test_stale_rpc_is_skipped_for_the_next_one(
    public_testnet, anvil, lagging_anvil, w3, usdc, make_request
):
    public_testnet.rpc_urls = [lagging_anvil.url, anvil.url]
    public_testnet.save()
    pr = make_request(usdc_micro=2_222_001)
    tx = send_token(w3, usdc, payer=PAYERS[0], to=pr.receiving_address, value=2_222_001)
    proof_attach(request=pr, chain_id=CHAIN_ID, tx_hash=tx, source="customer")
    client = ChainClient(public_testnet)

    assert proof_verify(request_id=pr.pk, client=client).outcome == "verified"
    assert client.used_url == anvil.url


def test_only_stale_rpcs_mean_unavailable_never_a_verdict(
    public_testnet, lagging_anvil, make_request
):
    # The lagging node has never seen this hash; asking it would say "no
    # receipt" and could time out into a mismatch. It is not asked at all.
    public_testnet.rpc_urls = [lagging_anvil.url]
    public_testnet.save()
    pr = make_request()
    proof_attach(
        request=pr, chain_id=CHAIN_ID, tx_hash="0x" + "ef" * 32, source="customer"
    )

    with pytest.raises(RpcUnavailable) as info:
        proof_verify(request_id=pr.pk)

    assert "stale head" in info.value.detail
    pr.refresh_from_db()
    assert pr.proof_status == "attached"


def test_local_chains_are_exempt_from_staleness(local_chain, lagging_anvil):
    local_chain.rpc_urls = [lagging_anvil.url]
    local_chain.save()
    assert ChainClient(local_chain).block_number() >= 0


def test_wrong_chain_id_endpoint_is_skipped(local_chain, anvil):
    other = AnvilNode(chain_id=CHAIN_ID + 1).start()
    try:
        local_chain.rpc_urls = [other.url, anvil.url]
        client = ChainClient(local_chain)
        client.block_number()
        assert client.used_url == anvil.url
        local_chain.rpc_urls = [other.url]
        with pytest.raises(RpcUnavailable) as info:
            ChainClient(local_chain).block_number()
        assert "wrong chain id" in info.value.detail
    finally:
        other.stop()


def test_no_urls_or_dead_urls_are_unavailable(local_chain):
    local_chain.rpc_urls = []
    with pytest.raises(RpcUnavailable):
        ChainClient(local_chain).block_number()
    local_chain.rpc_urls = [f"http://127.0.0.1:{free_port()}"]
    started = time.monotonic()
    with pytest.raises(RpcUnavailable) as info:
        ChainClient(local_chain).block_number()
    assert time.monotonic() - started < 2  # no hidden retry loop before failing over
    assert info.value.code == "rpc_unavailable"
    assert "127.0.0.1" not in info.value.message


def test_budget_bounds_the_whole_client(local_chain, anvil):
    client = ChainClient(local_chain, budget=0.001)
    time.sleep(0.01)
    with pytest.raises(RpcUnavailable):
        client.block_number()


def test_the_probe_of_a_slow_node_keeps_within_the_budget(public_testnet, anvil):
    # D19, D35: reverify answers within its 10 s. The probe of a non-local
    # chain makes two calls (chain id, then the head's age); both gave the
    # timeout computed before the first, so a slow node took the probe past
    # the budget (up to twice it) before any error was answered.
    delay = 1.5

    def slow(call, raw):
        time.sleep(delay)
        result = anvil.rpc(call["method"], call["params"])
        return {"jsonrpc": "2.0", "id": call["id"], "result": result}

    anvil.rpc("evm_mine")  # a fresh head
    with json_rpc_server(slow) as url:
        public_testnet.rpc_urls = [url]
        client = ChainClient(public_testnet, budget=2.0)
        started = time.monotonic()
        with pytest.raises(RpcUnavailable):
            client.head()
        elapsed = time.monotonic() - started

    assert elapsed < 2.0 + 0.5  # was 3 s: the head read got the first call's timeout
