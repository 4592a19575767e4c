"""D21: the watcher keeps going behind a provider that caps eth_getLogs ranges.

Public RPC providers refuse a log query over more than N blocks (N = 10 … 2 000)
with an error instead of a partial answer. A real JSON-RPC proxy in front of
anvil plays such a provider: it forwards every call and refuses wider
``eth_getLogs`` ranges, so a fixed 2 000-block chunk would fail forever.
"""

from __future__ import annotations

import json
import time
import urllib.request

import pytest

from payments.chain.watcher import scan_chain
from payments.models import Chain

from .conftest import PAYERS, json_rpc_server, mine, rpc_error, send_token

pytestmark = pytest.mark.chain

MAX_SPAN = 16


@pytest.fixture
def capped_chain(local_chain, anvil, w3):
    """``(chain, spans)``: the chain behind a provider capping log ranges."""
    spans: list[int] = []

    def answer(call: dict, raw: bytes) -> dict:
        if call["method"] == "eth_getLogs":
            query = call["params"][0]
            span = int(query["toBlock"], 16) - int(query["fromBlock"], 16) + 1
            spans.append(span)
            if span > MAX_SPAN:
                return rpc_error(
                    call, -32005, f"query exceeds max block range {MAX_SPAN}"
                )
        forwarded = urllib.request.Request(
            anvil.url, raw, {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(forwarded, timeout=10) as upstream:
            return json.loads(upstream.read())

    with json_rpc_server(answer) as url:
        local_chain.rpc_urls = [url]
        local_chain.last_scanned_block = w3.eth.block_number
        local_chain.save()
        yield local_chain, spans


def test_a_capped_provider_still_yields_the_payment(
    capped_chain, anvil, w3, usdc, make_request
):
    chain, spans = capped_chain
    pr = make_request(usdc_micro=7_300_011)
    mine(anvil, 40)
    send_token(w3, usdc, payer=PAYERS[1], to=pr.receiving_address, value=7_300_011)
    mine(anvil, 40)

    result = scan_chain(chain, chunk_blocks=30)

    assert result.attached == [str(pr.pk)]
    assert Chain.objects.get(pk=chain.pk).last_scanned_block == w3.eth.block_number
    refused = [s for s in spans if s > MAX_SPAN]
    served = [s for s in spans if s <= MAX_SPAN]
    # Halved once (30 → 15), then kept for every later chunk: one refusal in
    # all, not one per chunk.
    assert result.chunks >= 3
    assert refused == [30]
    assert max(served) == 15


def test_a_range_that_ends_at_block_zero_is_read_once(local_chain):
    """The span was ``min(…, to_block)``: 0 here, and the loop never advanced."""
    from payments.chain.rpc import ChainClient

    from .conftest import new_wallet

    client = ChainClient(local_chain)
    logs = client.transfer_logs(
        token=local_chain.usdc_address,
        from_block=0,
        to_block=0,
        recipients=[new_wallet()],
    )
    assert logs == []


@pytest.fixture
def slow_node(anvil):
    """``(url, spans)``: a node that forwards every call but takes longer
    than the client's timeout (0.5 s in these tests) for a log query over
    more than ``MAX_SPAN`` blocks. No error: just no answer in time."""
    spans: list[int] = []

    def answer(call: dict, raw: bytes) -> dict:
        if call["method"] == "eth_getLogs":
            query = call["params"][0]
            span = int(query["toBlock"], 16) - int(query["fromBlock"], 16) + 1
            spans.append(span)
            if span > MAX_SPAN:
                time.sleep(1.0)
        forwarded = urllib.request.Request(
            anvil.url, raw, {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(forwarded, timeout=10) as upstream:
            return json.loads(upstream.read())

    with json_rpc_server(answer) as url:
        yield url, spans


def scan_paid_request(chain, anvil, w3, usdc, make_request, rpc_urls, **scan):
    """A payment 20 blocks past the cursor, then one scan through ``rpc_urls``."""
    from payments.chain.rpc import ChainClient

    chain.last_scanned_block = w3.eth.block_number
    chain.save()
    pr = make_request(usdc_micro=7_300_029)
    mine(anvil, 20)
    send_token(w3, usdc, payer=PAYERS[1], to=pr.receiving_address, value=7_300_029)
    mine(anvil, 20)
    Chain.objects.filter(pk=chain.pk).update(rpc_urls=rpc_urls)
    fresh = Chain.objects.get(pk=chain.pk)
    result = scan_chain(fresh, client=ChainClient(fresh, timeout=0.5), **scan)
    assert result.attached == [str(pr.pk)]
    assert Chain.objects.get(pk=chain.pk).last_scanned_block == w3.eth.block_number


def test_a_provider_too_slow_for_a_wide_range_still_yields_the_payment(
    local_chain, anvil, w3, usdc, make_request, slow_node
):
    """D21: a node that takes longer than the client's timeout over a wide
    range (no error, just no answer in time) was taken for a dead one: the
    chunk failed, and every run sent the same chunk again, so the watcher
    never moved on and the payment was never found."""
    url, spans = slow_node

    scan_paid_request(local_chain, anvil, w3, usdc, make_request, [url])

    # Narrowed while too slow (about 40 → 20 → 10 blocks), then kept: two
    # slow queries in all, not one per chunk.
    assert len([s for s in spans if s > MAX_SPAN]) == 2
    assert spans[-1] <= MAX_SPAN


def test_a_slow_provider_with_a_prompt_one_behind_it_is_passed_over(
    local_chain, anvil, w3, usdc, make_request, slow_node
):
    # The prompt node answers; the slow one is not asked again for the next
    # chunks (each would wait out the timeout first).
    url, spans = slow_node

    scan_paid_request(
        local_chain, anvil, w3, usdc, make_request, [url, anvil.url], chunk_blocks=20
    )

    assert spans == [20]
