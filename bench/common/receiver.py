"""A local HTTPS webhook receiver."""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

# --- a webhook receiver -------------------------------------------------------------


class WebhookReceiver:
    """A local HTTPS receiver (``trustme`` CA) that answers 200 to every POST.

    Threads in this process; ``received`` holds ``(time.time(), body)`` of
    every POST in arrival order (the JSON payload, or ``None`` if it was not
    JSON). Point an endpoint at ``url`` and give the processes that send
    ``env()``, which trusts the CA and allows the loopback host (D26).
    ``hang[path] = seconds`` makes that path wait before it answers (a
    receiver that hangs); those POSTs are not recorded.
    """

    def __init__(self) -> None:
        import ssl
        import threading
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        import trustme

        self.ca = trustme.CA()
        self.ca_file = Path(tempfile.mkstemp(prefix="bench-ca-", suffix=".pem")[1])
        self.ca.cert_pem.write_to_path(str(self.ca_file))
        self.received: list[tuple[float, Any]] = []
        self.hang: dict[str, float] = {}
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out as two writes: with Nagle on, the second
            # waits for the sender's delayed ACK (40 ms) on a kept-alive
            # connection, which measured this receiver rather than JoPay.
            disable_nagle_algorithm = True

            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                arrived = time.time()
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path in receiver.hang:
                    self._hang(receiver.hang[self.path])
                    return
                try:
                    body = json.loads(raw)
                except ValueError:
                    body = None
                with receiver._lock:
                    receiver.received.append((arrived, body))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def _hang(self, seconds: float) -> None:
                time.sleep(seconds)
                try:
                    self.send_response(200)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                except OSError:
                    pass  # the sender gave up first, as it should

        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ca.issue_cert("127.0.0.1").configure_cert(context)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def count(self) -> int:
        return len(self.received)

    def env(self) -> dict[str, str]:
        return {
            "JOPAY_WEBHOOK_CA_BUNDLE": str(self.ca_file),
            "JOPAY_WEBHOOK_ALLOW_PRIVATE_HOSTS": "1",
        }

    def first(self, event: str, request_id: str) -> float | None:
        """When the first ``event`` for ``request_id`` arrived, or None."""
        with self._lock:
            for arrived, body in self.received:
                if isinstance(body, dict) and (
                    body.get("event"),
                    body.get("request_id"),
                ) == (event, request_id):
                    return arrived
        return None

    def stop(self) -> None:
        self.server.shutdown()
        self.ca_file.unlink(missing_ok=True)
