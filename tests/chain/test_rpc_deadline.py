"""An RPC call ends within what is left of the client's time (D19, D35).

A node that takes long to accept the connection and then answers a few bytes
at a time kept each socket wait under the timeout, so neither the connect
timeout nor the read timeout fired: the call took the connect time plus the
whole answer, past the budget. Real sockets here: a listener whose accept
queue is full (the kernel drops the SYN, the client sends it again a second
later) and an answer sent in pieces.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress

import pytest

from payments.chain.rpc import ChainClient, RpcUnavailable

from .conftest import CHAIN_ID, PAYERS, mine, new_wallet, send_token

pytestmark = pytest.mark.chain

PIECES = 10
PIECE_GAP = 0.4  # 4 s for a whole answer; each wait is far under any timeout


# How a node answers a call: (JSON-RPC answer, "whole" | "body" | "prompt"):
# the whole reply in pieces, the headers at once and the body in pieces, or
# all at once.
Answer = Callable[[dict], tuple[dict, str]]


def _chain_id(call: dict) -> tuple[dict, str]:
    return {"jsonrpc": "2.0", "id": call["id"], "result": hex(CHAIN_ID)}, "whole"


def _pieces(raw: bytes, answer: Answer) -> list[bytes]:
    payload, how = answer(json.loads(raw.split(b"\r\n\r\n", 1)[1]))
    data = json.dumps(payload).encode()
    head = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(data)}\r\n\r\n".encode()
    )
    if how == "prompt":
        return [head + data]
    slow = head + data if how == "whole" else data
    step = -(-len(slow) // PIECES)
    pieces = [slow[i : i + step] for i in range(0, len(slow), step)]
    return pieces if how == "whole" else [head, *pieces]


def _serve(conn: socket.socket, stop: threading.Event, answer: Answer) -> None:
    with conn:
        _answer_calls(conn, stop, answer)


def _answer_calls(conn: socket.socket, stop: threading.Event, answer: Answer) -> None:
    conn.settimeout(0.2)
    raw = b""
    while not stop.is_set():
        try:
            chunk = conn.recv(65536)
        except TimeoutError:
            continue
        except OSError:
            break
        if not chunk:
            break
        raw += chunk
        head, _, body = raw.partition(b"\r\n\r\n")
        length = next(
            (
                int(line.split(b":", 1)[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ),
            None,
        )
        if length is None or len(body) < length:
            continue
        pieces, raw = _pieces(raw, answer), b""
        try:
            for piece in pieces:
                if stop.is_set():
                    return
                conn.sendall(piece)
                if len(pieces) > 1:
                    time.sleep(PIECE_GAP)
        except OSError:
            break


@contextmanager
def slow_node(accept_after: float = 0.0, answer: Answer = _chain_id) -> Iterator[str]:
    """A JSON-RPC node on loopback, answering as ``answer`` says (slow parts in
    ``PIECES`` pieces ``PIECE_GAP`` apart); with ``accept_after``, a client
    connects only after about a second."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    # Fill the accept queue: the kernel drops the next SYN (the client tries
    # again after 1 s) until the server accepts these.
    fillers = []
    for _ in range(3 if accept_after else 0):
        filler = socket.socket()
        filler.setblocking(False)
        with suppress(BlockingIOError):
            filler.connect(("127.0.0.1", port))
        fillers.append(filler)
    stop = threading.Event()
    started = time.monotonic()
    serving: list[threading.Thread] = []

    def accept() -> None:
        server.settimeout(0.1)
        while not stop.is_set():
            if time.monotonic() - started < accept_after:
                time.sleep(0.05)
                continue
            try:
                conn, _ = server.accept()
            except (TimeoutError, OSError):
                continue
            serving.append(
                threading.Thread(target=_serve, args=(conn, stop, answer), daemon=True)
            )
            serving[-1].start()

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop.set()
        thread.join(5)
        for served in serving:
            served.join(5)
        server.close()
        for filler in fillers:
            filler.close()


def test_a_slow_connect_then_a_slow_answer_stay_within_the_budget(local_chain):
    budget = 2.0
    with slow_node(accept_after=0.3) as url:
        local_chain.rpc_urls = [url]
        client = ChainClient(local_chain, budget=budget)
        started = time.monotonic()
        with pytest.raises(RpcUnavailable):
            client.block_number()
        elapsed = time.monotonic() - started
    # Was ~1 s to connect plus 4 s for the answer (then as long again for the
    # call after the probe): each wait was under the timeout, none fired.
    assert elapsed < budget + 0.5


def test_without_a_budget_each_call_ends_within_its_timeout(local_chain):
    # The watcher's client has no budget: each call still ends within the
    # client's timeout, connect and answer together, not each on its own.
    with slow_node(accept_after=0.3) as url:
        local_chain.rpc_urls = [url]
        client = ChainClient(local_chain, timeout=2.0)
        started = time.monotonic()
        with pytest.raises(RpcUnavailable):
            client.block_number()
        elapsed = time.monotonic() - started
    assert elapsed < 2.0 + 0.5


def test_a_wide_log_query_whose_answer_runs_past_the_deadline_is_narrowed(
    local_chain, anvil, w3, usdc
):
    # D21: a node too slow for a wide eth_getLogs is asked for a narrower
    # one (slow_is_error). Its answer's body sent in pieces past the call's
    # deadline came out of requests as a ConnectionError, not a read timeout:
    # the node was dropped as unreachable and the query failed for good.
    spans: list[int] = []

    def answer(call: dict) -> tuple[dict, str]:
        result = anvil.rpc(call["method"], call["params"])
        how = "prompt"
        if call["method"] == "eth_getLogs":
            query = call["params"][0]
            span = int(query["toBlock"], 16) - int(query["fromBlock"], 16) + 1
            spans.append(span)
            how = "body" if span > 4 else "prompt"
        return {"jsonrpc": "2.0", "id": call["id"], "result": result}, how

    wallet = new_wallet()
    start = w3.eth.block_number + 1
    mine(anvil, 6)
    send_token(w3, usdc, payer=PAYERS[1], to=wallet, value=1_000_003)
    mine(anvil, 6)
    with slow_node(answer=answer) as url:
        local_chain.rpc_urls = [url]
        client = ChainClient(local_chain, timeout=1.0)
        logs = client.transfer_logs(
            token=usdc.address,
            from_block=start,
            to_block=w3.eth.block_number,
            recipients=[wallet],
        )

    assert [log.value for log in logs] == [1_000_003]
    assert spans[0] > 4
    assert spans[-1] <= 4
