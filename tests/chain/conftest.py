"""A real local EVM node (anvil) with a test USDC, shared by every chain test.

Session scope: one anvil on a free port (chain id 31337), TestUSDC deployed
and minted to three payer accounts, plus a second deployment as the "wrong
token". Function scope: ``evm_snapshot`` / ``evm_revert`` around each test
that takes ``local_chain``, so tests see the same chain state (time included)
whatever ran before. The anvil binary comes from JOPAY_ANVIL_BIN or the npm
package; without it and without npm the session FAILS (never skips).
"""

from __future__ import annotations

import importlib
import json
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone
from eth_account import Account
from web3 import Web3

from merchants.models import Partner
from payments.chain.devnode import DEV_ACCOUNTS, AnvilMissing, AnvilNode
from payments.chain.watcher import scan_chain
from payments.contracts import deploy_test_usdc
from payments.models import Chain, PaymentRequest
from payments.proofs.services import proof_attach
from tests.browser import chromium
from tests.factories import MerchantFactory
from webhooks.models import WebhookEvent

from .pay_browser import watch_csp

CHAIN_ID = 31337
MINT_MICRO = 1_000_000 * 10**6  # 1,000,000 USDC per payer
DEPLOYER = DEV_ACCOUNTS[0]
PAYERS = DEV_ACCOUNTS[1:4]


@pytest.fixture(scope="session")
def anvil():
    try:
        node = AnvilNode(chain_id=CHAIN_ID).start()
    except AnvilMissing as exc:
        pytest.fail(f"chain tests need anvil: {exc}", pytrace=False)
    yield node
    node.stop()


@pytest.fixture(scope="session")
def w3(anvil):
    return Web3(Web3.HTTPProvider(anvil.url, request_kwargs={"timeout": 10}))


def _deploy_and_mint(w3):
    token = deploy_test_usdc(w3, deployer=DEPLOYER)
    for payer in PAYERS:
        tx = token.functions.mint(payer, MINT_MICRO).transact({"from": DEPLOYER})
        w3.eth.wait_for_transaction_receipt(tx)
    return token


@pytest.fixture(scope="session")
def usdc(w3):
    return _deploy_and_mint(w3)


@pytest.fixture(scope="session")
def wrong_token(w3, usdc):
    """A second deployment of the same contract: looks like USDC, is not ours."""
    return _deploy_and_mint(w3)


@pytest.fixture
def evm_snapshot(anvil):
    # evm_revert also winds anvil's clock back to the snapshot's, so after a
    # few minutes of tests a new block was stamped minutes before the wall
    # clock: a payment read as mined before its request existed (D20 "late";
    # test_browser failed after the slow pay-page files). Clock to now first.
    latest = int(anvil.rpc("eth_getBlockByNumber", ["latest", False])["timestamp"], 16)
    anvil.rpc("evm_setTime", [max(int(time.time()), latest + 1)])
    snapshot = anvil.rpc("evm_snapshot")
    yield snapshot
    anvil.rpc("evm_revert", [snapshot])


@pytest.fixture
def local_chain(db, anvil, usdc, evm_snapshot):
    """The anvil chain registered as a ``local`` chain, 1 confirmation."""
    return Chain.objects.create(
        chain_id=CHAIN_ID,
        name="Local anvil",
        is_local=True,
        usdc_address=usdc.address,
        decimals=6,
        confirmations=1,
        rpc_urls=[anvil.url],
        explorer_tx_url="",
    )


@pytest.fixture
def cursor_at_head(local_chain, w3):
    """``local_chain`` with the watcher's cursor at the head: it reads on from
    there, as on a chain it has been watching all along."""
    local_chain.last_scanned_block = w3.eth.block_number
    local_chain.save()
    return local_chain


def scan_local_chain():
    """One watcher run over ``local_chain`` as the database has it now."""
    return scan_chain(Chain.objects.get(pk=CHAIN_ID))


@pytest.fixture
def refused_payment(cursor_at_head, anvil, w3, usdc, make_request):
    """``(a, b, tx)``: B is paid exactly in ``tx``, but someone pasted ``tx``
    on A's pay page first, so the watcher refused it to B (A holds the hash,
    D15, D20) and moved its cursor past it. A's proof is still attached."""
    cursor_at_head.confirmations = 3
    cursor_at_head.save()
    a = make_request(usdc_micro=3_000_001)
    b = make_request(usdc_micro=4_000_002)
    assert a.receiving_address != b.receiving_address
    tx = send_token(w3, usdc, payer=PAYERS[0], to=b.receiving_address, value=4_000_002)
    proof_attach(request=a, chain_id=CHAIN_ID, tx_hash=tx, source="customer")
    assert scan_local_chain().attached == []  # refused to B: A holds the hash
    mine(anvil, 3)
    scan_local_chain()  # the cursor moves past tx's block
    return a, b, tx


@pytest.fixture
def reorg_chain(local_chain, anvil, w3):
    """``local_chain`` asking 3 confirmations (``reorgs.py``), cursor at the head.

    Blocks first: a reorg reaching the block of the test's ``evm_snapshot``
    voids the snapshot, and the next test would start on this one's chain.
    """
    from .reorgs import CONFIRMATIONS

    mine(anvil, 2 * CONFIRMATIONS + 2)
    local_chain.confirmations = CONFIRMATIONS
    local_chain.last_scanned_block = w3.eth.block_number
    local_chain.save()
    return local_chain


@pytest.fixture
def seeded_chains(db):
    """The default chains exactly as the seed migration writes them.

    Run again here (it is idempotent) because a transactional test elsewhere in
    the suite flushes tables, migration data included.
    """
    from django.apps import apps

    migration = importlib.import_module("payments.migrations.0002_seed_default_chains")
    migration.seed(apps, None)


def new_wallet() -> str:
    return Account.create().address


@pytest.fixture
def make_request(partner):
    """``make_request(usdc_micro=..., test_mode=True, **fields)`` → a PaymentRequest.

    Rows are made with the ORM (the create service is another engineer's), with
    a fresh receiving wallet unless one is given.
    """

    def make(
        *,
        usdc_micro: int = 25_000_123,
        test_mode: bool = True,
        partner_obj: Partner | None = None,
        receiving_address: str | None = None,
        expires_in: timedelta = timedelta(hours=1),
        **fields,
    ) -> PaymentRequest:
        owner = partner_obj or partner
        wallet = receiving_address or new_wallet()
        merchant = MerchantFactory(
            partner=owner, test_mode=test_mode, wallet_address=wallet
        )
        values = {
            "partner": owner,
            "test_mode": test_mode,
            "merchant": merchant,
            "reference": secrets.token_hex(5).upper(),
            "fiat_int": 2500,
            "fiat_code": "EUR",
            "usdc_micro": usdc_micro,
            "fx_rate": Decimal("0.92"),
            "fx_source": "manual",
            "receiving_address": wallet,
            "expires_at": timezone.now() + expires_in,
            **fields,
        }
        return PaymentRequest.objects.create(**values)

    return make


def send_token(w3, token, *, payer: str, to: str, value: int, **tx) -> str:
    """Transfer ``value`` raw units from an unlocked payer; returns the 0x hash."""
    tx_hash = token.functions.transfer(to, value).transact({"from": payer, **tx})
    w3.eth.wait_for_transaction_receipt(tx_hash)
    return "0x" + bytes(tx_hash).hex()


def mine(anvil, blocks: int = 1) -> None:
    anvil.rpc("anvil_mine", [hex(blocks)])


def event_types(pr) -> list[str]:
    """The request's webhook event types in sequence order."""
    return list(
        WebhookEvent.objects.filter(request_id=pr.pk)
        .order_by("sequence")
        .values_list("type", flat=True)
    )


@pytest.fixture
def eager_celery():
    """Run tasks in-process (the browser tests have no worker)."""
    from jopay_project.celery import app

    old = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = old


@contextmanager
def json_rpc_server(answer: Callable[[dict, bytes], dict]) -> Iterator[str]:
    """A real JSON-RPC peer on loopback; ``answer(call, raw)`` gives each reply.

    Yields its URL. Used to play a node that fails, or a provider with limits
    in front of anvil.
    """

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            raw = self.rfile.read(int(self.headers["Content-Length"]))
            data = json.dumps(answer(json.loads(raw), raw)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def rpc_error(call: dict, code: int, message: str) -> dict:
    return {
        "jsonrpc": "2.0",
        "id": call["id"],
        "error": {"code": code, "message": message},
    }


# --- the pay page in a browser -------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium for the test module (tests/browser.py)."""
    with chromium() as launched:
        yield launched


@pytest.fixture
def context_options() -> dict:
    """Options of the browser context (a test parametrizes it to turn off scripts)."""
    return {}


@pytest.fixture
def context(browser, context_options):
    context = browser.new_context(**context_options)
    yield context
    context.close()


@pytest.fixture
def page(context):
    """A fresh page that fails the test on any script error or CSP violation."""
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.errors = []
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    page.csp = watch_csp(page)
    yield page
    assert page.errors == []
    assert page.csp == []
