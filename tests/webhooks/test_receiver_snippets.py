"""The README receiver snippets, run verbatim against real signed deliveries (D25).

A real delivery goes to the local HTTPS receiver; its exact headers and raw
body are then replayed to each snippet's own HTTP server (Python's in a
thread, Node's as a subprocess), which must answer 204 for the genuine one
and 401 for tampered, stale or wrongly-keyed ones.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import threading
import time
import urllib.error
import urllib.request
from http.server import HTTPServer
from pathlib import Path

import pytest

from webhooks.delivery import deliver
from webhooks.services import webhook_secret_rotate

from .conftest import emit

README = Path(__file__).resolve().parents[2] / "README.md"


def code_block(language: str) -> str:
    blocks = re.findall(rf"```{language}\n(.*?)```", README.read_text(), re.S)
    receivers = [b for b in blocks if "x-jopay-signature" in b]
    assert len(receivers) == 1, f"one {language} receiver block expected"
    return receivers[0]


def test_python_snippet_is_at_most_15_lines_and_stdlib_only():
    source = code_block("python")
    assert len(source.strip().splitlines()) <= 15
    imports = re.findall(r"^(?:import|from) (\w+)", source, re.M)
    assert set(imports) <= {"hashlib", "hmac", "os", "time", "http"}


@pytest.fixture
def signed(partner, endpoint_for, receiver):
    """A real delivery's (headers, body) and the partner's secret."""
    _, secret = endpoint_for(partner)
    delivery = emit(partner).deliveries.get()
    assert deliver(delivery_id=str(delivery.pk)).state == "delivered"
    (got,) = receiver.received()
    return got, secret


def replay(port: int, headers: dict[str, str], body: bytes) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/hook",
        data=body,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "x-jopay-signature": headers["x-jopay-signature"],
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status
    except urllib.error.HTTPError as exc:
        return exc.code


def cases(got, secret):
    """(headers, body, expected status) for the genuine delivery and forgeries."""
    stale_t = int(time.time()) - 301
    stale = re.sub(r"t=\d+", f"t={stale_t}", got.headers["x-jopay-signature"])
    return [
        (got.headers, got.body, 204),
        (got.headers, got.body + b" ", 401),
        ({"x-jopay-signature": stale}, got.body, 401),
        ({"x-jopay-signature": "v1=00,t=" + str(int(time.time()))}, got.body, 401),
        ({"x-jopay-signature": "garbage"}, got.body, 401),
        # Anyone can send this: "²" passes str.isdigit() but not int(), and
        # the receiver must answer 401, not drop the connection on an error.
        ({"x-jopay-signature": "v1=00,t=\u00b2"}, got.body, 401),
        # int() refuses over 4 300 digits: a 401 too, not a dropped connection.
        ({"x-jopay-signature": "v1=00,t=" + "9" * 5000}, got.body, 401),
    ]


@pytest.fixture
def python_receiver(monkeypatch):
    def start(secret: str) -> int:
        monkeypatch.setenv("JOPAY_WEBHOOK_SECRET", secret)
        namespace: dict = {"__name__": "readme_receiver"}
        exec(compile(code_block("python"), str(README), "exec"), namespace)  # noqa: S102
        server = HTTPServer(("127.0.0.1", 0), namespace["Hook"])
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return server.server_address[1]

    servers: list[HTTPServer] = []
    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def node_receiver(tmp_path):
    node = shutil.which("node")
    if node is None:
        pytest.fail("node is not installed (scripts/test_tools.sh installs it)")
    script = tmp_path / "receiver.js"
    script.write_text(code_block("javascript"))
    procs: list[subprocess.Popen] = []

    def start(secret: str) -> int:
        port = free_port()
        env = {"JOPAY_WEBHOOK_SECRET": secret, "PORT": str(port), "PATH": "/usr/bin"}
        procs.append(subprocess.Popen([node, str(script)], env=env))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", port)) == 0:
                    return port
            time.sleep(0.05)
        raise AssertionError("node receiver did not start")

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(5)


@pytest.mark.parametrize("runtime", ["python", "node"])
def test_snippet_accepts_a_real_delivery_and_rejects_forgeries(
    runtime, signed, python_receiver, node_receiver
):
    got, secret = signed
    start = python_receiver if runtime == "python" else node_receiver
    port = start(secret)
    for headers, body, expected in cases(got, secret):
        assert replay(port, headers, body) == expected, headers
    wrong_key = start("0" * 64)
    assert replay(wrong_key, got.headers, got.body) == 401


@pytest.mark.parametrize("runtime", ["python", "node"])
def test_snippet_accepts_either_secret_during_a_rotation(
    runtime, partner, endpoint_for, receiver, python_receiver, node_receiver
):
    _, old = endpoint_for(partner)
    new = webhook_secret_rotate(partner=partner)
    deliver(delivery_id=str(emit(partner).deliveries.get().pk))
    (got,) = receiver.received()
    start = python_receiver if runtime == "python" else node_receiver
    for secret in (new, old):
        assert replay(start(secret), got.headers, got.body) == 204
