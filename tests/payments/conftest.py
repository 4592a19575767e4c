"""Payment fixtures: fresh FX rates, a create helper, and local FX feed servers
(``feed_server`` speaks HTTP; ``raw_server`` answers with whatever bytes a
handler writes, for feeds that misbehave below HTTP)."""

from __future__ import annotations

import http.server
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from payments.models import FxRate, PaymentRequest

FIXTURES = Path(__file__).parent / "fixtures"


def make_request(merchant, *, expires_in: int = 3600, **fields) -> PaymentRequest:
    """A request row of ``merchant``'s written with the ORM (no service),
    due ``expires_in`` seconds from now."""
    return PaymentRequest.objects.create(
        partner=merchant.partner,
        test_mode=merchant.test_mode,
        merchant=merchant,
        reference=uuid.uuid4().hex[:8].upper(),
        fiat_int=2500,
        fiat_code="EUR",
        usdc_micro=27_173_000 + PaymentRequest.objects.count(),
        fx_rate=Decimal("0.92"),
        fx_source="test",
        receiving_address=merchant.wallet_address,
        expires_at=timezone.now() + timedelta(seconds=expires_in),
        **fields,
    )


# Fiat units per 1 USDC, as a feed would have stored them just now.
RATES = {
    "EUR": Decimal("0.92"),
    "USD": Decimal("1"),
    "JPY": Decimal("150"),
    "GBP": Decimal("0.8"),
}


@pytest.fixture
def rates(db):
    """Fresh (non-pinned) global rates for the factory partners' currencies."""
    now = timezone.now()
    return {
        code: FxRate.objects.create(
            currency=code, rate=rate, source="test-feed", fetched_at=now
        )
        for code, rate in RATES.items()
    }


@pytest.fixture
def create(merchant):
    """``create(client, **fields)`` → response of POST /api/v1/requests/create.

    Defaults to alice's live merchant and 2500 minor units; pass a field as
    ``None`` to leave it out of the body.
    """

    def post(client, merchant_obj=None, **fields):
        body = {
            "merchant_id": str((merchant_obj or merchant).pk),
            "fiat_amount_int": 2500,
        }
        body.update(fields)
        body = {k: v for k, v in body.items() if v is not None}
        return client.post("/api/v1/requests/create", body, format="json")

    return post


@dataclass
class Route:
    status: int = 200
    content_type: str = "application/json"
    body: bytes = b""
    delay: float = 0.0
    drip: float = 0.0  # seconds between body bytes (a server that trickles)


@dataclass
class FeedServer:
    """A local HTTP server for recorded feed files; counts hits per path."""

    base_url: str
    routes: dict[str, Route] = field(default_factory=dict)
    hits: dict[str, int] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def serve_file(self, path: str, name: str, content_type: str) -> str:
        body = (FIXTURES / name).read_bytes()
        self.routes[path] = Route(content_type=content_type, body=body)
        return self.url(path)

    def serve(self, path: str, **kwargs) -> str:
        self.routes[path] = Route(**kwargs)
        return self.url(path)


@pytest.fixture
def feed_server():
    """A real ``http.server`` on a free loopback port, in a thread, for one test."""
    state: dict[str, FeedServer] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            server = state["server"]
            server.hits[self.path] = server.hits.get(self.path, 0) + 1
            route = server.routes.get(self.path, Route(status=404, body=b"{}"))
            if route.delay:
                time.sleep(route.delay)
            try:
                self.send_response(route.status)
                self.send_header("Content-Type", route.content_type)
                self.send_header("Content-Length", str(len(route.body)))
                self.end_headers()
                if route.drip:
                    for byte in route.body:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        time.sleep(route.drip)
                else:
                    self.wfile.write(route.body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timeout tests)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.daemon_threads = True
    state["server"] = FeedServer(base_url=f"http://127.0.0.1:{httpd.server_port}")
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield state["server"]
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=5)


class RawServer:
    """A loopback socket answering every connection with ``handler``; counts them."""

    def __init__(self, handler: Callable[[socket.socket], None]) -> None:
        self.handler, self.hits = handler, 0
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}/feed.json"
        threading.Thread(target=self._loop, daemon=True).start()

    def _loop(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:  # closed at the end of the test
                return
            self.hits += 1
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            try:
                conn.recv(65536)
                self.handler(conn)
            except OSError:
                pass  # the client gave up first


@pytest.fixture
def raw_server() -> Iterator[Callable[[Callable[[socket.socket], None]], RawServer]]:
    """``raw_server(handler)`` → a started ``RawServer``; all closed after the test."""
    servers: list[RawServer] = []

    def start(handler: Callable[[socket.socket], None]) -> RawServer:
        servers.append(RawServer(handler))
        return servers[-1]

    yield start
    for server in servers:
        server.sock.close()
