"""A feed key in the URL's path never reaches the logs or the refresh's errors.

exchangerate-api (whose ``conversion_rates`` / ``base_code`` table the JSON
adapter reads) takes its key as a path segment: ``/v6/<key>/latest/USD``. Only
the query and the userinfo were scrubbed, so a failing keyed feed wrote the key
to the log every 30 minutes, into the task result and the admin's message.
"""

from __future__ import annotations

import socket

import pytest

from payments.fx.fetch import redacted
from payments.services.refresh import fx_refresh
from tests.payments.test_fx_feed_cut_off import HEAD, serve  # noqa: F401

KEY = "1a2b3c4d5e6f7a8b9c0d1e2f"


def _invalid_key(conn: socket.socket) -> None:
    body = b'{"result":"error","error-type":"invalid-key"}'
    conn.sendall(
        HEAD + b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body
    )


def _unauthorized(conn: socket.socket) -> None:
    conn.sendall(
        b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )


@pytest.mark.parametrize(
    "handler", [_invalid_key, _unauthorized], ids=["error-answer", "403"]
)
def test_a_key_in_the_path_never_reaches_the_logs_or_the_error(
    db,
    serve,  # noqa: F811
    handler,
    caplog,
):
    server = serve(handler)
    url = server.url.replace("/feed.json", f"/v6/{KEY}/latest/USD")
    with caplog.at_level("WARNING"):
        result = fx_refresh(feed_urls=[url])
    assert not result.ok
    said = caplog.text + " ".join(result.errors)
    assert "/v6/…/latest/USD" in said  # still says which feed
    assert KEY not in said


@pytest.mark.parametrize(
    "url",
    [
        "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml",
        "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-hist-90d.xml",
        "https://open.er-api.com/v6/latest/USD",
        "https://api.frankfurter.app/latest?from=USD",
    ],
)
def test_ordinary_feed_paths_are_kept(url):
    assert redacted(url) == url.split("?")[0]
