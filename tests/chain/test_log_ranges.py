"""D21: the watcher keeps going behind a provider that caps eth_getLogs ranges.

Public RPC providers refuse a log query over more than N blocks (N = 10 … 2 000)
with an error instead of a partial answer. A real JSON-RPC proxy in front of
anvil plays such a provider: it forwards every call and refuses wider
``eth_getLogs`` ranges, so a fixed 2 000-block chunk would fail forever.
"""

from __future__ import annotations

import json
import threading
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from payments.chain.watcher import scan_chain
from payments.models import Chain

from .conftest import PAYERS, mine, send_token

pytestmark = pytest.mark.chain

MAX_SPAN = 16


class _CappingProxy(BaseHTTPRequestHandler):
    upstream = ""
    spans: list[int] = []

    def do_POST(self):
        raw = self.rfile.read(int(self.headers["Content-Length"]))
        body = json.loads(raw)
        if body["method"] == "eth_getLogs":
            query = body["params"][0]
            span = int(query["toBlock"], 16) - int(query["fromBlock"], 16) + 1
            type(self).spans.append(span)
            if span > MAX_SPAN:
                self._answer(
                    {
                        "jsonrpc": "2.0",
                        "id": body["id"],
                        "error": {
                            "code": -32005,
                            "message": f"query exceeds max block range {MAX_SPAN}",
                        },
                    }
                )
                return
        forwarded = urllib.request.Request(
            self.upstream, raw, {"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(forwarded, timeout=10) as answer:
            self._answer(json.loads(answer.read()))

    def _answer(self, doc):
        data = json.dumps(doc).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


@pytest.fixture
def capped_chain(local_chain, anvil, w3):
    handler = type("Handler", (_CappingProxy,), {"upstream": anvil.url, "spans": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    local_chain.rpc_urls = [f"http://127.0.0.1:{server.server_address[1]}"]
    local_chain.last_scanned_block = w3.eth.block_number
    local_chain.save()
    yield local_chain, handler
    server.shutdown()
    server.server_close()


def test_a_capped_provider_still_yields_the_payment(
    capped_chain, anvil, w3, usdc, make_request
):
    chain, proxy = capped_chain
    pr = make_request(usdc_micro=7_300_011)
    mine(anvil, 40)
    send_token(w3, usdc, payer=PAYERS[1], to=pr.receiving_address, value=7_300_011)
    mine(anvil, 40)

    result = scan_chain(chain, chunk_blocks=30)

    assert result.attached == [str(pr.pk)]
    assert Chain.objects.get(pk=chain.pk).last_scanned_block == w3.eth.block_number
    refused = [s for s in proxy.spans if s > MAX_SPAN]
    served = [s for s in proxy.spans if s <= MAX_SPAN]
    # Halved once (30 → 15), then kept for every later chunk: one refusal in
    # all, not one per chunk.
    assert result.chunks >= 3
    assert refused == [30]
    assert max(served) == 15
