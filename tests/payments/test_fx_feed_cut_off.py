"""D14: a feed answer that breaks off mid-body is transport trouble like any other.

The headers arrive, then the body stalls past the timeout, the connection
closes short of its Content-Length, or a gzip body does not decode. Each raised
a urllib3 exception (ReadTimeoutError, ProtocolError, DecodeError) out of the
body read: no second try, no fallback feed, and fx_refresh, the refresh task
and the admin button failed with it. Served by real local sockets, since
``http.server`` cannot misbehave this way.
"""

from __future__ import annotations

import re
import socket
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from payments.fx import FeedError, fetch_feed
from payments.models import FxRate
from payments.services.refresh import fx_refresh
from payments.tasks import refresh_fx_rates_task

GOOD = b'{"base":"USD","rates":{"EUR":0.92,"USD":1}}'
HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"


def _stall(conn: socket.socket) -> None:
    conn.sendall(HEAD + b'Content-Length: 1000\r\n\r\n{"base":"USD",')
    time.sleep(3)  # longer than the 1 s timeout


def _drop(conn: socket.socket) -> None:
    # Fewer bytes than Content-Length, then the connection closes.
    conn.sendall(HEAD + b'Content-Length: 1000\r\n\r\n{"base":"USD",')


def _bad_gzip(conn: socket.socket) -> None:
    conn.sendall(
        HEAD + b"Content-Encoding: gzip\r\nContent-Length: 10\r\n"
        b"Connection: close\r\n\r\nnot-gzip!!"
    )


def _good(conn: socket.socket) -> None:
    conn.sendall(
        HEAD + b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(GOOD) + GOOD
    )


@pytest.fixture
def serve(settings, raw_server):
    settings.JOPAY_FX_TIMEOUT_SECONDS = 1
    return raw_server


GAVE_UP = "reading the answer failed|no whole answer within 1 s"
CUT_OFF = pytest.mark.parametrize(
    "handler", [_stall, _drop, _bad_gzip], ids=["stall", "drop", "bad-gzip"]
)


@CUT_OFF
def test_fetch_tries_twice_then_raises_a_feed_error(serve, handler):
    bad = serve(handler)
    # A stall ends at the try's deadline or at the read timeout, whichever
    # the clock reaches first: both are the same transport trouble.
    with pytest.raises(FeedError, match=GAVE_UP):
        fetch_feed(bad.url, timeout=1)
    assert bad.hits == 2  # D14: the second try happened


@CUT_OFF
def test_refresh_falls_back_to_the_next_feed(db, serve, handler):
    bad, good = serve(handler), serve(_good)

    result = fx_refresh(feed_urls=[bad.url, good.url])

    assert result.ok
    assert (bad.hits, good.hits) == (2, 1)
    assert re.search(GAVE_UP, result.errors[0])
    eur = FxRate.objects.get(currency="EUR", partner__isnull=True)
    assert (eur.rate, eur.source) == (Decimal("0.92"), "json:127.0.0.1")


@CUT_OFF
def test_the_refresh_task_keeps_the_last_good_rate(db, serve, settings, handler):
    fetched = timezone.now() - timedelta(hours=3)
    FxRate.objects.create(
        currency="EUR", rate=Decimal("0.91"), source="json:old", fetched_at=fetched
    )
    settings.JOPAY_FX_FEEDS = [serve(handler).url, serve(handler).url]

    summary = refresh_fx_rates_task()  # must not raise

    assert summary["source"] is None
    assert len(summary["errors"]) == 2
    eur = FxRate.objects.get(currency="EUR", partner__isnull=True)
    assert (eur.rate, eur.source, eur.fetched_at) == (
        Decimal("0.91"),
        "json:old",
        fetched,
    )


def _drip_headers(conn: socket.socket) -> None:
    # Every byte well within the 1 s read timeout, the whole head in ~4 s.
    for byte in HEAD + b"Content-Length: %d\r\n\r\n" % len(GOOD):
        conn.sendall(bytes([byte]))
        time.sleep(0.05)
    conn.sendall(GOOD)


def test_a_feed_dripping_its_headers_is_given_up_at_the_timeout(db, serve):
    # Only the body read had a deadline: one try took ~4 s (2 tries x 1 s
    # budgeted), so with real settings the refresh task's time limit came
    # before the fallback feed was asked.
    slow, good = serve(_drip_headers), serve(_good)
    started = time.monotonic()
    result = fx_refresh(feed_urls=[slow.url, good.url])
    assert time.monotonic() - started < 3.5  # 2 tries x 1 s, and the fallback
    assert result.ok
    assert (slow.hits, good.hits) == (2, 1)
    assert "no whole answer within 1 s" in result.errors[0]


def _unauthorized(conn: socket.socket) -> None:
    conn.sendall(
        b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )


@pytest.mark.parametrize("handler", [_unauthorized, _drop], ids=["401", "drop"])
def test_a_keyed_feeds_key_never_reaches_the_logs_or_the_error(
    db, serve, handler, caplog
):
    # JOPAY_FX_FEEDS exists for keyed providers (?app_id=…); a failing feed is
    # logged every 30 minutes and its error returned by the refresh task.
    server = serve(handler)
    url = server.url.replace("/feed.json", "/api/latest.json?app_id=SUPERSECRET42")
    url = url.replace("http://", "http://user:PASSWORD77@")
    with caplog.at_level("WARNING"):
        result = fx_refresh(feed_urls=[url])
    assert not result.ok
    said = caplog.text + " ".join(result.errors)
    assert "/api/latest.json" in said  # still says which feed
    assert "SUPERSECRET42" not in said
    assert "PASSWORD77" not in said
