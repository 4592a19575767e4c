"""Malformed node answers are RPC trouble, never a 500 or a verdict (D19, D20, D35).

A real JSON-RPC server in front of anvil forwards every call and spoils one
kind of answer: a block without a timestamp, a receipt log without
``address`` / ``logIndex`` / ``topics`` or with bad hex, an ``eth_getLogs``
entry without ``logIndex``. The client must raise ``RpcError`` (or
``RpcUnavailable`` when the endpoint probe cannot read the head), so the
reverify API answers 500 ``rpc_error`` / 503 ``rpc_unavailable`` and the proof
stays ``attached`` (D20: never ``mismatch`` because of the node).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
import requests

from payments.chain.logs import TRANSFER_TOPIC_HEX, decode_transfer
from payments.chain.rpc import ChainClient, RpcError, RpcUnavailable
from payments.chain.watcher import watch_chains
from payments.models import Chain, PaymentRequest
from payments.proofs.services import proof_attach

from .conftest import CHAIN_ID, PAYERS, json_rpc_server, send_token

pytestmark = pytest.mark.chain

PR = PaymentRequest

Spoil = Callable[[dict, dict], None]


def forward(anvil, call: dict) -> dict:
    return requests.post(anvil.url, json=call, timeout=10).json()


@pytest.fixture
def spoiling_node(local_chain, anvil):
    """``spoil(method, fn)``: the chain's only RPC now spoils that method's results.

    ``fn(call, result)`` edits the forwarded result in place.
    """
    spoilers: dict[str, Spoil] = {}

    def answer(call: dict, raw: bytes) -> dict:
        reply = forward(anvil, call)
        fn = spoilers.get(call["method"])
        if fn is not None and reply.get("result") is not None:
            fn(call, reply["result"])
        return reply

    with json_rpc_server(answer) as url:
        local_chain.rpc_urls = [url]
        local_chain.save()

        def spoil(method: str, fn: Spoil) -> None:
            spoilers[method] = fn

        yield spoil


@pytest.fixture
def attached(local_chain, w3, usdc, make_request):
    pr = make_request(usdc_micro=6_300_019)
    tx = send_token(w3, usdc, payer=PAYERS[0], to=pr.receiving_address, value=6_300_019)
    proof_attach(request=pr, chain_id=CHAIN_ID, tx_hash=tx, source="merchant")
    return pr


def drop(key: str) -> Callable[[dict], None]:
    return lambda log: log.pop(key)


def put(key: str, value) -> Callable[[dict], None]:
    return lambda log: log.__setitem__(key, value)


def short_recipient_topic(log: dict) -> None:
    log["topics"][2] = "0x1234"


RECEIPT_LOG_DEFECTS = {
    "no address": drop("address"),
    "no logIndex": drop("logIndex"),
    "no topics": drop("topics"),
    "no data": drop("data"),
    "topics not a list": put("topics", TRANSFER_TOPIC_HEX),
    "short recipient topic": short_recipient_topic,
}


@pytest.mark.parametrize("defect", RECEIPT_LOG_DEFECTS)
def test_reverify_of_a_malformed_receipt_log_is_500_rpc_error(
    api_test, attached, spoiling_node, defect
):
    spoiling_node(
        "eth_getTransactionReceipt",
        lambda call, receipt: RECEIPT_LOG_DEFECTS[defect](receipt["logs"][0]),
    )

    response = api_test.post(f"/api/v1/requests/{attached.pk}/reverify")

    assert response.status_code == 500, response.content
    assert response.json()["error"] == "rpc_error"
    attached.refresh_from_db()
    assert (attached.proof_status, attached.mismatch_reason) == ("attached", None)


def test_reverify_when_the_probe_reads_a_head_without_time_is_503(
    api_test, attached, local_chain, anvil, spoiling_node
):
    # Not local: the probe reads the head's age (D19), and there is none.
    anvil.rpc("evm_mine")
    local_chain.is_local = False
    local_chain.is_testnet = True
    local_chain.save()
    spoiling_node("eth_getBlockByNumber", lambda call, block: block.pop("timestamp"))

    response = api_test.post(f"/api/v1/requests/{attached.pk}/reverify")

    assert response.status_code == 503, response.content
    assert response.json()["error"] == "rpc_unavailable"
    attached.refresh_from_db()
    assert attached.proof_status == "attached"


@pytest.mark.parametrize(
    "defect",
    [
        lambda call, block: block.pop("timestamp"),
        lambda call, block: block.__setitem__("timestamp", None),
        lambda call, block: block.pop("hash"),
    ],
    ids=["no timestamp", "null timestamp", "no hash"],
)
def test_a_block_without_its_fields_is_rpc_error(local_chain, spoiling_node, defect):
    spoiling_node("eth_getBlockByNumber", defect)
    client = ChainClient(local_chain)

    with pytest.raises(RpcError):
        client.head()
    with pytest.raises(RpcError):
        client.block(0)


# A block time no datetime holds (after 9999-12-31 UTC): fromtimestamp raised
# OverflowError / ValueError in the verifier and the watcher, not RpcError.
BEYOND_9999 = ["0x" + "f" * 16, hex(253_402_300_800)]


@pytest.mark.parametrize("timestamp", BEYOND_9999)
def test_a_block_time_past_9999_is_rpc_error(local_chain, spoiling_node, timestamp):
    spoiling_node(
        "eth_getBlockByNumber",
        lambda call, block: block.__setitem__("timestamp", timestamp),
    )
    client = ChainClient(local_chain)

    with pytest.raises(RpcError):
        client.block(0)


@pytest.mark.parametrize("timestamp", BEYOND_9999)
def test_reverify_with_a_block_time_past_9999_is_500_rpc_error(
    api_test, attached, spoiling_node, timestamp
):
    spoiling_node(
        "eth_getBlockByNumber",
        lambda call, block: block.__setitem__("timestamp", timestamp),
    )

    response = api_test.post(f"/api/v1/requests/{attached.pk}/reverify")

    assert response.status_code == 500, response.content
    assert response.json()["error"] == "rpc_error"
    attached.refresh_from_db()
    assert (attached.proof_status, attached.mismatch_reason) == ("attached", None)


def test_a_probe_reading_a_head_with_a_null_timestamp_skips_the_endpoint(
    local_chain, anvil, spoiling_node
):
    anvil.rpc("evm_mine")
    local_chain.is_local = False
    local_chain.save()
    spoiling_node(
        "eth_getBlockByNumber", lambda call, block: block.__setitem__("timestamp", None)
    )

    with pytest.raises(RpcUnavailable) as info:
        ChainClient(local_chain).block_number()

    assert "probe failed" in info.value.detail


def test_a_null_block_number_is_rpc_error(local_chain, anvil):
    def answer(call: dict, raw: bytes) -> dict:
        if call["method"] == "eth_blockNumber":
            return {"jsonrpc": "2.0", "id": call["id"], "result": None}
        return forward(anvil, call)

    with json_rpc_server(answer) as url:
        local_chain.rpc_urls = [url]
        with pytest.raises(RpcError):
            ChainClient(local_chain).block_number()


def test_a_malformed_log_from_eth_get_logs_is_rpc_error_and_keeps_the_cursor(
    local_chain, w3, usdc, make_request, spoiling_node
):
    local_chain.last_scanned_block = w3.eth.block_number
    local_chain.save()
    pr = make_request(usdc_micro=6_400_023)
    send_token(w3, usdc, payer=PAYERS[1], to=pr.receiving_address, value=6_400_023)
    spoiling_node(
        "eth_getLogs", lambda call, logs: [log.pop("logIndex") for log in logs]
    )

    results = {r.chain_id: r for r in watch_chains()}

    # D21: the watcher reports the chain unreadable and keeps its cursor.
    assert results[CHAIN_ID].skipped == "rpc_error"
    chain = Chain.objects.get(pk=local_chain.pk)
    assert chain.last_scanned_block == local_chain.last_scanned_block
    pr.refresh_from_db()
    assert pr.proof_status == "none"


def test_decode_transfer_tells_other_events_from_garbage():
    transfer = {
        "address": "0x" + "aa" * 20,
        "topics": [TRANSFER_TOPIC_HEX, "0x" + "00" * 32, "0x" + "00" * 12 + "bb" * 20],
        "data": "0x" + "00" * 31 + "07",
        "blockNumber": "0x10",
        "logIndex": "0x2",
        "transactionHash": "0x" + "11" * 32,
        "blockHash": "0x" + "22" * 32,
    }
    assert decode_transfer(transfer).value == 7
    # Well-formed, but not an ERC-20 Transfer: None, as before.
    assert decode_transfer({**transfer, "topics": ["0x" + "33" * 32]}) is None
    assert (
        decode_transfer({**transfer, "topics": [*transfer["topics"], "0x" + "00" * 32]})
        is None
    )
    for bad in (
        {**transfer, "data": "0xzz"},
        {**transfer, "address": "0x12"},
        {**transfer, "blockHash": None},
        {k: v for k, v in transfer.items() if k != "transactionHash"},
        None,
    ):
        with pytest.raises(RpcError):
            decode_transfer(bad)
