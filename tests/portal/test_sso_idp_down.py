"""An IdP whose key set cannot be read is the token's refusal, never a 500 (D33).

PyJWT turns a refused connection or an HTTP error into ``PyJWKClientError``,
but a connection reset while the key set's body is read came through as a
bare ``ConnectionResetError``: a 500 on every sign-in while the IdP misbehaved.
"""

from __future__ import annotations

import socket
import struct
import threading

import pytest
from django.test import Client

from merchants import sso
from tests.portal.test_sso import AUDIENCE, ISSUER, code, keys, post_json, token  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def resetting_idp():
    """Answers 200 with half a body, then resets the connection (RST)."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve():
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            conn.recv(65536)
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Content-Length: 4096\r\n\r\n" + b'{"keys": [' + b" " * 512
            )
            conn.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
            )
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/jwks.json"
    stop.set()
    thread.join(5)
    listener.close()


def test_a_reset_while_reading_the_key_set_is_invalid_id_token(
    settings,
    resetting_idp,
    keys,  # noqa: F811
):
    settings.JOPAY_OIDC_ISSUER = ISSUER
    settings.JOPAY_OIDC_AUDIENCE = AUDIENCE
    settings.JOPAY_OIDC_JWKS_URL = resetting_idp
    sso._clients.pop(resetting_idp, None)
    client = Client(raise_request_exception=False)
    response = client.get("/portal/login/")
    nonce = response.cookies[sso.NONCE_COOKIE].value
    response = post_json(client, {"id_token": token(keys, nonce=nonce)})
    assert (response.status_code, code(response)) == (401, "invalid_id_token")
