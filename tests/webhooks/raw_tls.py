"""A bare TLS receiver for tests that need bytes no HTTP server would send:
a handshake that starts late, a head that dribbles, interim 1xx answers."""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import time
from collections.abc import Callable


def read_request(tls: ssl.SSLSocket) -> bool:
    """Read one POST, head and body (closing on unread data resets the
    connection); ``False`` if the client hung up first."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = tls.recv(65536)
        if not chunk:
            return False
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        (
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        ),
        0,
    )
    while len(body) < length:
        body += tls.recv(65536)
    return True


def raw_tls_receiver(
    ca, serve: Callable[[ssl.SSLSocket], None], *, handshake_after: float = 0
) -> tuple[socket.socket, str]:
    """One connection on 127.0.0.1, certified by the suite's ``ca``: accepted
    at once, its TLS handshake started ``handshake_after`` seconds later, then
    handed to ``serve``. Returns the listener (close it) and the URL."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(4)

    def run() -> None:
        with contextlib.suppress(OSError):
            conn, _ = listener.accept()
            time.sleep(handshake_after)
            with context.wrap_socket(conn, server_side=True) as tls:
                serve(tls)

    threading.Thread(target=run, daemon=True).start()
    return listener, f"https://127.0.0.1:{listener.getsockname()[1]}/hook"
