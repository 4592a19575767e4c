"""The quickstart's commands are shaped for copy-paste, and its receiver really works.

The full walk through `make run` is the lead's live test; here each command
is checked to be its own ``bash`` block, and the certificate command and the
webhook receiver are run for real: JoPay's own delivery code (signing, TLS
with ``JOPAY_WEBHOOK_CA_BUNDLE``, D24-D26) posts to the receiver, which must
accept a good signature and refuse a bad one.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest
from django.test import override_settings

from webhooks import delivery, signing, urlsafety

from .blocks import page_blocks


def quickstart_bash() -> list:
    return [b for b in page_blocks("quickstart") if b.lang == "bash"]


def test_every_quickstart_command_is_its_own_bash_block():
    commands = quickstart_bash()

    assert len(commands) >= 15
    for block in commands:
        lines = [ln for ln in block.code.splitlines() if ln.strip()]
        if "<<'EOF'" in block.code:
            continue  # one command with a here-document
        assert len(lines) == 1, f"more than one command in a block:\n{block.code}"


def test_the_quickstart_covers_the_whole_flow():
    code = "\n".join(b.code for b in quickstart_bash())

    for needle in [
        "make run",
        "source .run/env",  # the stack's URL, data folder and database
        "/demo.json",
        'POST "$JOPAY_URL/api/v1/merchants"'.replace("POST ", "-X POST "),
        '"wallet_address"',
        "/api/v1/requests/create",
        "PAY_PAGE_URL",
        "@31337",
        "from web3 import Web3",
        "ANVIL_KEY",
        "/api/v1/webhooks/endpoint",
        "x-jopay-signature",
    ]:
        assert needle in code, needle


def test_long_running_commands_are_marked_for_the_background():
    background = [b.code for b in quickstart_bash() if b.attrs.get("data-background")]

    assert len(background) == 2
    assert "make run" in background[0]
    assert "serve_forever" in background[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def receiver(tmp_path):
    """The quickstart's certificate and receiver, run as written in ``tmp_path``."""
    blocks = quickstart_bash()
    cert_cmd = next(
        b.code for b in blocks if b.code.startswith("mkdir -p .run/receiver")
    )
    subprocess.run(
        ["bash", "-c", cert_cmd],
        cwd=tmp_path,
        check=True,
        capture_output=True,
        timeout=60,
    )
    secret = signing.secret_new()
    (tmp_path / ".run/receiver/secret").write_text(secret)
    script = next(b.code for b in blocks if "serve_forever" in b.code)
    port = free_port()
    script = script.replace(".venv/bin/python", sys.executable).replace(
        "8443", str(port)
    )
    # Its own process group: bash runs python as a child, and stopping the
    # group stops exactly the two processes this fixture started.
    proc = subprocess.Popen(
        ["bash", "-c", script],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert proc.poll() is None, proc.stdout.read()
                time.sleep(0.1)
        yield {
            "url": f"https://127.0.0.1:{port}/",
            "secret": secret,
            "ca": str(tmp_path / ".run/receiver/cert.pem"),
            "proc": proc,
        }
    finally:
        stop(proc)


def stop(proc: subprocess.Popen) -> str:
    """Stop the receiver's process group; return what it printed."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        output, _ = proc.communicate(timeout=10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        output, _ = proc.communicate(timeout=10)
    return output or ""


def send(receiver, *, secret: str, body: bytes) -> delivery.HttpResult:
    hdrs = signing.signature_headers(
        secrets_new_first=[secret],
        delivery_id="e9d7c5b3-1a0f-4e8d-9c6b-4a2f0e8d6c41",
        attempt=1,
        timestamp=int(time.time()),
        body=body,
    )
    return post_raw(receiver, hdrs, body)


def post_raw(receiver, headers: dict, body: bytes) -> delivery.HttpResult:
    with override_settings(JOPAY_WEBHOOK_CA_BUNDLE=receiver["ca"]):
        approved = urlsafety.check_url(receiver["url"])
        return delivery.post(
            receiver["url"], body, headers, timeout=8, approved=approved
        )


def test_the_quickstart_receiver_verifies_real_deliveries(receiver):
    body = delivery.build_body(
        {"event": "webhook.test", "message": "hi", "test_mode": True},
        "e9d7c5b3-1a0f-4e8d-9c6b-4a2f0e8d6c41",
    )

    bad = send(receiver, secret=signing.secret_new(), body=body)
    # Anyone can POST here: junk headers are refused, not a crash (a "²"
    # passes str.isdigit(), compare_digest raises on non-ASCII text).
    junk = [
        post_raw(receiver, {"x-jopay-signature": header}, b"not json")
        for header in (
            "t=\u00b2,v1=00",
            f"t={int(time.time())},v1=\u00e9",
            "v1=00",
            "",
            "t=" + "9" * 5000 + ",v1=00",  # int() refuses over 4 300 digits
        )
    ]
    good = send(receiver, secret=receiver["secret"], body=body)

    assert bad.status_code == 400
    assert [r.status_code for r in junk] == [400] * 5, [r.error for r in junk]
    assert good.status_code == 204, good.error
    assert delivery.classify(good).state == "delivered"
    output = stop(receiver["proc"])
    assert "signature OK  webhook.test" in output
    assert output.count("signature BAD") == 6, output
    assert "Traceback" not in output, output
