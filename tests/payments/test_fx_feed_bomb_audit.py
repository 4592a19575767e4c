"""D14: a feed's answer is bounded after decompression, not only on the wire.

A gzip body of a few hundred KiB can inflate to hundreds of MiB. The body is
read decoded, at most ``MAX_BYTES`` + one chunk, so such an answer costs about
a megabyte of memory, is refused as too large without a pointless second try,
and the next feed is asked. Served by a real local socket.
"""

from __future__ import annotations

import gzip
import tracemalloc
from decimal import Decimal

import pytest

from payments.fx import FeedError, fetch_feed
from payments.fx.fetch import MAX_BYTES
from payments.models import FxRate
from payments.services.refresh import fx_refresh

INFLATED = 64 * MAX_BYTES  # 64 MB once decoded
GOOD = b'{"base":"USD","rates":{"USD":1,"EUR":0.93}}'


@pytest.fixture(scope="module")
def bomb() -> bytes:
    body = b'{"base":"USD","rates":{"EUR":0.92' + b" " * INFLATED + b"}}"
    return gzip.compress(body, compresslevel=9)


@pytest.fixture
def serve(raw_server):
    """``serve(body, encoding)`` → a server answering every call with ``body``."""

    def start(body: bytes, encoding: str | None = None):
        head = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        head += b"Connection: close\r\n"
        if encoding:
            head += f"Content-Encoding: {encoding}\r\n".encode()
        head += f"Content-Length: {len(body)}\r\n\r\n".encode()
        return raw_server(lambda conn: conn.sendall(head + body))

    return start


def test_a_gzip_bomb_is_refused_without_being_inflated(serve, bomb):
    assert len(bomb) < INFLATED // 500
    server = serve(bomb, "gzip")
    tracemalloc.start()
    try:
        with pytest.raises(FeedError, match="too large"):
            fetch_feed(server.url, timeout=5)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * MAX_BYTES  # not the 64 MB the body inflates to
    assert server.hits == 1  # an answer that arrived is not asked for again


def test_a_refresh_falls_back_from_a_gzip_bomb(db, serve, bomb):
    bad, good = serve(bomb, "gzip"), serve(GOOD)

    result = fx_refresh(feed_urls=[bad.url, good.url])

    assert result.ok
    assert "too large" in result.errors[0]
    eur = FxRate.objects.get(currency="EUR", partner__isnull=True)
    assert eur.rate == Decimal("0.93")
