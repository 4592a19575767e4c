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
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import pytest

from payments.chain.rpc import ChainClient, RpcUnavailable

from .conftest import CHAIN_ID

pytestmark = pytest.mark.chain

PIECES = 10
PIECE_GAP = 0.4  # 4 s for a whole answer; each wait is far under any timeout


def _answer(raw: bytes) -> bytes:
    body = raw.split(b"\r\n\r\n", 1)[1]
    call = json.loads(body)
    data = json.dumps({"jsonrpc": "2.0", "id": call["id"], "result": hex(CHAIN_ID)})
    return (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(data)}\r\n\r\n{data}".encode()
    )


def _serve(conn: socket.socket, stop: threading.Event) -> None:
    with conn:
        _answer_calls(conn, stop)


def _answer_calls(conn: socket.socket, stop: threading.Event) -> None:
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
        reply, raw = _answer(raw), b""
        step = -(-len(reply) // PIECES)
        try:
            for i in range(0, len(reply), step):
                if stop.is_set():
                    return
                conn.sendall(reply[i : i + step])
                time.sleep(PIECE_GAP)
        except OSError:
            break


@contextmanager
def slow_node(accept_after: float) -> Iterator[str]:
    """A JSON-RPC node on loopback that connects in about a second and
    answers every call in ``PIECES`` pieces ``PIECE_GAP`` apart."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(0)
    port = server.getsockname()[1]
    # Fill the accept queue: the kernel drops the next SYN (the client tries
    # again after 1 s) until the server accepts these.
    fillers = []
    for _ in range(3):
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
                threading.Thread(target=_serve, args=(conn, stop), daemon=True)
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
