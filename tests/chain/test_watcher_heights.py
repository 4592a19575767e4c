"""The watcher behind nodes at different heights loses no payment (D19, D21, D36).

``eth_getLogs`` answers ``[]`` for blocks past the answering node's own head,
so a scan that trusts another node's head (a failover between URLs, a
load-balanced URL whose backends differ, a node claiming a head it lacks)
once moved the cursor past blocks nobody had read. With a reorg margin of one
block (a ``local`` chain, D36) the payment in them was never seen again and
the request's proof stayed ``none``.

Each "node" here is a real JSON-RPC server in front of the suite's anvil
that plays a node ``lag`` blocks behind it: its latest block, its logs and
its receipts stop at anvil's head minus ``lag``.
"""

from __future__ import annotations

import pytest
import requests

from payments.chain.rpc import RpcError
from payments.models import Chain, PaymentRequest

from .conftest import PAYERS, json_rpc_server, mine, rpc_error, send_token

pytestmark = pytest.mark.chain

PR = PaymentRequest


def forward(anvil, call: dict) -> dict:
    return requests.post(anvil.url, json=call, timeout=10).json()


def ok(call: dict, result) -> dict:
    return {"jsonrpc": "2.0", "id": call["id"], "result": result}


def real_head(anvil) -> int:
    return int(anvil.rpc("eth_blockNumber"), 16)


def behind(anvil, call: dict, lag: int) -> dict:
    """The answer of a node ``lag`` blocks behind anvil (0: anvil itself)."""
    top = real_head(anvil) - lag
    method, params = call["method"], call.get("params") or []
    if method == "eth_blockNumber":
        return ok(call, hex(top))
    if method == "eth_getBlockByNumber":
        number = top if params[0] == "latest" else int(params[0], 16)
        if number > top:
            return ok(call, None)
        return forward(anvil, {**call, "params": [hex(number), *params[1:]]})
    if method == "eth_getLogs":
        query = dict(params[0])
        if int(query["fromBlock"], 16) > top:
            return ok(call, [])
        query["toBlock"] = hex(min(int(query["toBlock"], 16), top))
        return forward(anvil, {**call, "params": [query]})
    if method == "eth_getTransactionReceipt":
        answer = forward(anvil, call)
        receipt = answer.get("result")
        if receipt and int(receipt["blockNumber"], 16) > top:
            return ok(call, None)
        return answer
    return forward(anvil, call)


@pytest.fixture
def watched_payment(local_chain, w3, usdc, make_request):
    """``pay()`` → the tx hash of the exact payment of a watched request."""
    local_chain.last_scanned_block = w3.eth.block_number
    local_chain.save()
    pr = make_request(usdc_micro=9_100_011)

    def pay() -> str:
        return send_token(
            w3, usdc, payer=PAYERS[0], to=pr.receiving_address, value=9_100_011
        )

    return pr, pay


def scan(chain_pk: int):
    from payments.chain.watcher import scan_chain

    return scan_chain(Chain.objects.get(pk=chain_pk))


def assert_held_back(chain, pr, *, cursor: int) -> None:
    """The cursor stayed below the blocks the node had not got; nothing judged."""
    assert Chain.objects.get(pk=chain.pk).last_scanned_block == cursor
    pr.refresh_from_db()
    assert pr.proof_status == "none"


def test_a_node_claiming_a_head_it_lacks_loses_no_payment(
    local_chain, anvil, w3, watched_payment
):
    # The reviewer's repro: eth_blockNumber says 30 blocks more than there are.
    pr, pay = watched_payment

    def answer(call: dict, raw: bytes) -> dict:
        if call["method"] == "eth_blockNumber":
            return ok(call, hex(real_head(anvil) + 30))
        return forward(anvil, call)

    with json_rpc_server(answer) as url:
        local_chain.rpc_urls = [url]
        local_chain.save()
        first = scan(local_chain.pk)
        # Never past a block that exists, whatever the head claims.
        assert Chain.objects.get(pk=local_chain.pk).last_scanned_block == (
            w3.eth.block_number
        )
        assert first.to_block == w3.eth.block_number
        tx = pay()
        mine(anvil, 3)

        second = scan(local_chain.pk)

    assert second.attached == [str(pr.pk)]
    pr.refresh_from_db()
    assert (pr.tx_hash, pr.proof_status) == (tx, "verified")


def test_a_balanced_url_with_a_lagging_backend_loses_no_payment(
    local_chain, anvil, w3, watched_payment
):
    # One URL, two backends: the scan's first head comes from the fresh one,
    # every later call from one 5 blocks behind (the payment's block included).
    pr, pay = watched_payment
    cursor = local_chain.last_scanned_block
    tx = pay()
    mine(anvil, 4)
    state = {"heads": 0, "lag": 5}

    def answer(call: dict, raw: bytes) -> dict:
        params = call.get("params") or []
        if call["method"] == "eth_blockNumber" or params[:1] == ["latest"]:
            state["heads"] += 1
            if state["heads"] == 1:
                return behind(anvil, call, 0)
        return behind(anvil, call, state["lag"])

    with json_rpc_server(answer) as url:
        local_chain.rpc_urls = [url]
        local_chain.save()
        first = scan(local_chain.pk)

        assert first.attached == []
        assert first.to_block == cursor  # the lagging backend's head
        assert_held_back(local_chain, pr, cursor=cursor)
        state["lag"] = 0  # the backend catches up
        second = scan(local_chain.pk)

    assert second.attached == [str(pr.pk)]
    pr.refresh_from_db()
    assert (pr.tx_hash, pr.proof_status) == (tx, "verified")
    assert Chain.objects.get(pk=local_chain.pk).last_scanned_block == (
        w3.eth.block_number
    )


def test_logs_failing_over_to_a_lagging_node_lose_no_payment(
    local_chain, anvil, w3, watched_payment
):
    # The first URL is fresh but refuses eth_getLogs; the second, which
    # answers them, is 5 blocks behind: its [] says nothing about those blocks.
    pr, pay = watched_payment
    cursor = local_chain.last_scanned_block
    tx = pay()
    mine(anvil, 4)
    lag = {"blocks": 5}

    def fresh(call: dict, raw: bytes) -> dict:
        if call["method"] == "eth_getLogs":
            return rpc_error(call, -32601, "method not available on this plan")
        return forward(anvil, call)

    def lagging(call: dict, raw: bytes) -> dict:
        return behind(anvil, call, lag["blocks"])

    with json_rpc_server(fresh) as first_url, json_rpc_server(lagging) as second_url:
        local_chain.rpc_urls = [first_url, second_url]
        local_chain.save()
        first = scan(local_chain.pk)

        assert first.attached == []
        assert_held_back(local_chain, pr, cursor=cursor)
        lag["blocks"] = 0
        second = scan(local_chain.pk)

    assert second.attached == [str(pr.pk)]
    pr.refresh_from_db()
    assert (pr.tx_hash, pr.proof_status) == (tx, "verified")


def test_a_rescan_behind_a_lagging_backend_carries_on_instead_of_not_found(
    local_chain, anvil, w3, usdc, make_request
):
    """The rescan reads the request's window once (D20): an ``[]`` from a
    backend that had not reached the payment's block said "not found", and the
    owed rescan was done with. Now it carries on from the first block that
    backend had not shown."""
    from payments.chain.rescan import rescan_request_window

    pr = make_request(
        usdc_micro=9_200_011,
        proof_status=PR.ProofStatus.MISMATCH,
        tx_hash="0x" + "5e" * 32,
    )
    tx = send_token(w3, usdc, payer=PAYERS[0], to=pr.receiving_address, value=9_200_011)
    paid_in = w3.eth.get_transaction_receipt(tx)["blockNumber"]
    mine(anvil, 4)
    head = w3.eth.block_number
    state = {"lag": 5}

    def answer(call: dict, raw: bytes) -> dict:
        if call["method"] == "eth_getLogs":
            return behind(anvil, call, state["lag"])
        params = call.get("params") or []
        lag = state["lag"] if params[:1] == ["latest"] and state["calls"] else 0
        state["calls"] += 1
        return behind(anvil, call, lag)

    state["calls"] = 0
    with json_rpc_server(answer) as url:
        local_chain.rpc_urls = [url]
        local_chain.save()
        first = rescan_request_window(
            request_id=pr.pk,
            chain_id=local_chain.pk,
            from_block=paid_in - 2,
            to_block=head,
        )
        assert (first.outcome, first.next_from_block) == ("continued", head - 5 + 1)
        assert first.next_from_block <= paid_in  # the payment's block is still ahead
        state["lag"] = 0
        second = rescan_request_window(
            request_id=pr.pk,
            chain_id=local_chain.pk,
            from_block=first.next_from_block,
            to_block=head,
        )

    assert second.outcome == "verified"
    pr.refresh_from_db()
    assert (pr.tx_hash, pr.proof_status) == (tx, "verified")


def test_a_node_behind_the_cursor_failing_mid_scan_loses_no_payment(
    local_chain, anvil, w3, watched_payment
):
    """D21, D34: a node behind the cursor made the watcher start over at its
    head, by writing the cursor off (None) before reading. A scan that then
    failed left it off, so the next run started at the head *then* (D34's
    first scan), past the blocks mined in between: a payment there was never
    found."""
    pr, pay = watched_payment

    def lagging_and_failing(call: dict, raw: bytes) -> dict:
        if call["method"] == "eth_getLogs":
            return rpc_error(call, -32000, "upstream busy")
        return behind(anvil, call, 2)

    with json_rpc_server(lagging_and_failing) as url:
        local_chain.rpc_urls = [url]
        local_chain.save()
        with pytest.raises(RpcError):
            scan(local_chain.pk)
    tx = pay()
    mine(anvil, 3)

    Chain.objects.filter(pk=local_chain.pk).update(rpc_urls=[anvil.url])
    second = scan(local_chain.pk)

    assert second.attached == [str(pr.pk)]
    pr.refresh_from_db()
    assert (pr.tx_hash, pr.proof_status) == (tx, "verified")
