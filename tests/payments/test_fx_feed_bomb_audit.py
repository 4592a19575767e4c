"""D14: a feed's answer is bounded after decompression, not only on the wire.

A gzip body of a few hundred KiB can inflate to hundreds of MiB. The body is
read decoded, at most ``MAX_BYTES`` + one chunk, so such an answer costs about
a megabyte of memory, is refused as too large without a pointless second try,
and the next feed is asked. Served by a real local socket.
"""

from __future__ import annotations

import gzip
import socket
import threading
import tracemalloc
from decimal import Decimal

import pytest

from payments.fx import FeedError, fetch_feed
from payments.fx.fetch import MAX_BYTES
from payments.models import FxRate
from payments.services.fx import fx_refresh

INFLATED = 64 * MAX_BYTES  # 64 MB once decoded
GOOD = b'{"base":"USD","rates":{"USD":1,"EUR":0.93}}'


@pytest.fixture(scope="module")
def bomb() -> bytes:
    body = b'{"base":"USD","rates":{"EUR":0.92' + b" " * INFLATED + b"}}"
    return gzip.compress(body, compresslevel=9)


def _serve(body: bytes, encoding: str | None) -> tuple[str, list[int], socket.socket]:
    sock = socket.create_server(("127.0.0.1", 0))
    hits = [0]
    head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n"
    if encoding:
        head += f"Content-Encoding: {encoding}\r\n".encode()
    head += f"Content-Length: {len(body)}\r\n\r\n".encode()

    def loop() -> None:
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            hits[0] += 1
            with conn:
                try:
                    conn.recv(65536)
                    conn.sendall(head + body)
                except OSError:
                    pass  # the client stopped reading

    threading.Thread(target=loop, daemon=True).start()
    return f"http://127.0.0.1:{sock.getsockname()[1]}/latest.json", hits, sock


@pytest.fixture
def serve():
    sockets = []

    def start(body: bytes, encoding: str | None = None):
        url, hits, sock = _serve(body, encoding)
        sockets.append(sock)
        return url, hits

    yield start
    for sock in sockets:
        sock.close()


def test_a_gzip_bomb_is_refused_without_being_inflated(serve, bomb):
    assert len(bomb) < INFLATED // 500
    url, hits = serve(bomb, "gzip")
    tracemalloc.start()
    try:
        with pytest.raises(FeedError, match="too large"):
            fetch_feed(url, timeout=5)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * MAX_BYTES  # not the 64 MB the body inflates to
    assert hits[0] == 1  # an answer that arrived is not asked for again


def test_a_refresh_falls_back_from_a_gzip_bomb(db, serve, bomb):
    bad, _ = serve(bomb, "gzip")
    good, _ = serve(GOOD)

    result = fx_refresh(feed_urls=[bad, good])

    assert result.ok
    assert "too large" in result.errors[0]
    eur = FxRate.objects.get(currency="EUR", partner__isnull=True)
    assert eur.rate == Decimal("0.93")
