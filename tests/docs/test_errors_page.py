"""/docs/errors/ and the error examples on every page are what the API
answers (D2, D3, D35).

- The errors page tells partners the fix the API's answer needs.
- Each ``{"ok": false, ...}`` block shown on a page carries a code of the
  registry, that code's own message (the pages show the default sentence),
  and only the extra keys the API adds to that code.
- The "robust client" on /docs/errors/ copes with answers that are not
  JoPay's (D2). The page says a request the HTTP server refuses before JoPay
  sees it gets that server's plain 400 without the envelope, and to treat an
  unknown code by its status class (5xx: retry later); proxies answer a 502
  or 504 page the same way. The client, copied as written, is run against a
  real local HTTP server giving such answers: it must hand a plain 400 back
  instead of raising, and retry a bodyless 5xx like any retryable code.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import pytest
import requests

from jopay_project.docs.render import PAGES, PAGES_BY_SLUG, render_page, source_text
from jopay_project.errors import ErrorCode
from tests.docs.blocks import all_markdown, blocks, page_blocks
from tests.live import gunicorn


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


@pytest.mark.django_db
def test_webhook_not_configured_names_switching_delivery_on(api):
    """A partner whose endpoint was switched off (by itself, a 410 or 5 days of
    failures) has a URL: webhook_not_configured is answered all the same, and
    the errors page said only 'Set the webhook URL first'."""
    endpoint = "/api/v1/webhooks/endpoint"
    api.put(endpoint, {"url": "https://localhost/jopay"}, format="json")
    assert api.get(endpoint).json()["url"] == "https://localhost/jopay"
    answer = api.post("/api/v1/webhooks/test")
    assert answer.status_code == 400
    assert answer.json()["error"] == "webhook_not_configured"

    page = _text(render_page(PAGES_BY_SLUG["errors"]).html)
    row = page.split("webhook_not_configured 400", 1)[1][:200]
    assert "switch delivery on if it is off" in row
    kinds = page.split("What to do, by kind", 1)[1]
    assert "or switch delivery on if it is off" in kinds
    assert "Set a webhook URL first for the first one" not in kinds


EXTRA_KEYS = {
    "insufficient_scope": {"required_scope"},
    "currency_mismatch": {"expected_fiat_code"},
    "rate_limited": {"retry_after"},
}


def documented_errors() -> list[tuple[str, dict]]:
    found = []
    for page in PAGES:
        for block in blocks(source_text(page)):
            if block.lang != "json":
                continue
            shown = json.loads(block.code)
            if isinstance(shown, dict) and shown.get("ok") is False:
                found.append((page.slug or "overview", shown))
    return found


def test_every_documented_error_example_is_a_real_answer():
    examples = documented_errors()
    assert len(examples) >= 5
    for slug, shown in examples:
        code = ErrorCode(shown["error"])  # a registry code, else ValueError
        assert shown["message"] == code.message, (slug, code)
        extra = set(shown) - {"ok", "error", "message"}
        assert extra == EXTRA_KEYS.get(code, set()), (slug, code, extra)


def test_the_documented_extras_are_what_the_api_sends(client_for, partner):
    """The extra keys above, read from real answers."""
    reader = client_for(partner, scopes=["fx:read"])
    scope = reader.post("/api/v1/requests/create", {}, format="json").json()
    assert set(scope) - {"ok", "error", "message"} == EXTRA_KEYS["insufficient_scope"]


def robust_client():
    [code] = [
        b.code
        for b in page_blocks("errors")
        if b.lang == "python" and "def call_jopay" in b.code
    ]
    slept: list[float] = []
    namespace: dict = {}
    exec(compile(code, "errors.md:call_jopay", "exec"), namespace)  # noqa: S102
    namespace["time"] = SimpleNamespace(sleep=slept.append)
    return namespace["call_jopay"], slept


@pytest.fixture
def server():
    """Answers each call with the next of ``answers``: (status, content type, body)."""
    answers: list[tuple[int, str, bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status, content_type, body = answers.pop(0)
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_port}/api/v1/requests/create", answers
    httpd.shutdown()
    httpd.server_close()


def test_a_plain_400_from_the_http_server_is_returned_not_raised(server):
    url, answers = server
    answers.append((400, "text/html", b"<html><h1>Bad Request</h1></html>"))
    call_jopay, slept = robust_client()

    status, data = call_jopay("POST", url, "jo_test_x", {"fiat_amount_int": 1})

    assert status == 400
    assert not data.get("ok")
    assert slept == []  # "do not retry it as is"


def test_a_bodyless_5xx_from_a_proxy_is_retried(server):
    url, answers = server
    answers.append((502, "text/html", b"<html>Bad Gateway</html>"))
    answers.append((504, "text/plain", b"Gateway Timeout"))
    answers.append((201, "application/json", b'{"ok": true, "request_id": "r"}'))
    call_jopay, slept = robust_client()

    status, data = call_jopay("POST", url, "jo_test_x", {"fiat_amount_int": 1})

    assert (status, data) == (201, {"ok": True, "request_id": "r"})
    assert len(slept) == 2


@pytest.mark.django_db(transaction=True)
def test_what_gunicorn_refuses_is_what_the_page_says():
    """The page's list of refusals made before JoPay sees a request, and the
    status each gets from the gunicorn JoPay runs under (no envelope)."""
    text = " ".join(all_markdown().split())
    call_jopay, slept = robust_client()
    with gunicorn(workers=1) as base:
        url = base + "/api/v1/requests/create"
        too_long_line = requests.get(
            base + "/api/v1/requests?x=" + "a" * 5000, timeout=10
        )
        big = {"X-Big": "a" * 9000}
        too_big_header = requests.post(url, json={}, headers=big, timeout=10)
        status, data = call_jopay("POST", url + "?x=" + "a" * 5000, "jo_test_x")

    assert (too_long_line.status_code, too_big_header.status_code) == (400, 431)
    for refused in (too_long_line, too_big_header):
        assert not refused.headers["Content-Type"].startswith("application/json")
    assert "a header over 8 KB (or more than 100 headers) gets `431`" in text
    assert (status, data, slept) == (400, {}, [])
