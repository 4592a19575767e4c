"""Failure drills for chain RPC (D19, D20, D21): the node stops during
verification and during watching, and a stale node sits first in the list.

No false ``mismatch`` ever comes from a node being down or stale; the proof is
verified once the node answers again. The "node" the chain config points at is
a TCP proxy in front of the chain suite's anvil, so stopping it looks to JoPay
exactly like a node going away (connection refused), and starting it again
brings the same chain back, without disturbing the shared anvil. Verification
runs in a real Celery worker (the task's own retry and the beat re-check).
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from datetime import timedelta

import pytest
from django.utils import timezone

from payments.chain.devnode import AnvilNode
from payments.chain.rpc import RpcUnavailable
from payments.models import PaymentRequest
from payments.proofs.services import proof_attach, proof_verify
from payments.proofs.tasks import recheck_attached_proofs, watch_chains_task
from tests.chain.conftest import CHAIN_ID, PAYERS, send_token
from tests.live import free_port
from webhooks.models import WebhookEvent

pytestmark = [pytest.mark.live, pytest.mark.chain]

PR = PaymentRequest


class NodeProxy:
    """A TCP forwarder on a fixed port; ``stop()`` = the node is gone."""

    def __init__(self, target_port: int):
        self.target_port = target_port
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._listener: socket.socket | None = None
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        listener, self._listener = self._listener, None
        if listener is not None:
            # shutdown wakes the accept() blocked in the other thread; close
            # alone would leave the port accepting until that accept returns.
            with contextlib.suppress(OSError):
                listener.shutdown(socket.SHUT_RDWR)
            listener.close()
        with self._lock:
            sockets, self._sockets = list(self._sockets), set()
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # stopped
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            with self._lock:
                self._sockets.update((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


@pytest.fixture
def node(anvil):
    proxy = NodeProxy(int(anvil.url.rsplit(":", 1)[1]))
    proxy.start()
    yield proxy
    proxy.stop()


@pytest.fixture
def chain(transactional_db, local_chain, node):
    """The anvil chain, reached only through the proxy (committed rows)."""
    local_chain.rpc_urls = [node.url]
    local_chain.save()
    return local_chain


def _events(request: PR) -> list[str]:
    return list(
        WebhookEvent.objects.filter(request_id=request.pk)
        .order_by("sequence")
        .values_list("type", flat=True)
    )


def _wait(predicate, timeout: float = 60, every: float = 0.2) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(every)


def test_node_stopped_during_verification_never_mismatches_and_verifies_after(
    live_partner, chain, node, w3, usdc, make_request, start_worker
):
    request = make_request(usdc_micro=7_000_123)
    tx = send_token(
        w3, usdc, payer=PAYERS[0], to=request.receiving_address, value=7_000_123
    )
    start_worker()
    node.stop()
    proof_attach(request=request, chain_id=CHAIN_ID, tx_hash=tx, source="customer")

    # The worker tries, finds no node, backs off: the proof stays attached.
    _wait(lambda: PR.objects.get(pk=request.pk).verify_attempts >= 1)
    request.refresh_from_db()
    assert request.proof_status == PR.ProofStatus.ATTACHED
    assert request.next_verify_at > timezone.now()
    # Even judged 40 minutes later (past the 30 min not-found timeout), a node
    # that cannot be reached gives no verdict at all.
    with pytest.raises(RpcUnavailable):
        proof_verify(request_id=request.pk, now=timezone.now() + timedelta(minutes=40))
    request.refresh_from_db()
    assert (request.proof_status, request.mismatch_reason) == ("attached", None)

    node.start()
    # The backoff would retry in 15-30 s; beat's re-check is the safety net:
    # make the row overdue (simulated clock) and run what beat runs.
    PR.objects.filter(pk=request.pk).update(
        next_verify_at=timezone.now() - timedelta(minutes=1)
    )
    assert recheck_attached_proofs() == [str(request.pk)]
    _wait(lambda: PR.objects.get(pk=request.pk).proof_status != "attached")
    request.refresh_from_db()
    assert (request.proof_status, request.status) == ("verified", "paid")
    assert _events(request) == ["payment.proof_attached", "payment.proof_verified"]


def test_node_stopped_during_watching_attaches_nothing_then_catches_up(
    live_partner, chain, node, w3, usdc, make_request
):
    request = make_request(usdc_micro=8_000_456)
    watch_chains_task()  # the cursor starts at the head (D34)
    node.stop()
    send_token(w3, usdc, payer=PAYERS[1], to=request.receiving_address, value=8_000_456)

    for _ in range(3):  # beat keeps calling it while the node is away
        watch_chains_task()
    request.refresh_from_db()
    assert (request.proof_status, request.status) == ("none", "requested")
    assert _events(request) == []

    node.start()
    watch_chains_task()
    request.refresh_from_db()
    assert (request.proof_status, request.status) == ("verified", "paid")
    assert request.proof_source == "trails_on_chain"
    assert "payment.proof_mismatch" not in _events(request)


@pytest.fixture(scope="module")
def stale_node():
    """A node of the same chain id whose head is an hour old (stuck RPC)."""
    node = AnvilNode(chain_id=CHAIN_ID, timestamp=int(time.time()) - 3600).start()
    yield node
    node.stop()


def test_a_stale_node_is_skipped_and_never_judges(
    live_partner, chain, node, stale_node, anvil, w3, usdc, make_request
):
    """A public-testnet chain (staleness counts) whose first URL is an hour
    behind: it has never seen the transfer and would answer "no receipt"."""
    chain.is_local, chain.is_testnet = False, True
    chain.rpc_urls = [stale_node.url, node.url]
    chain.save()
    request = make_request(usdc_micro=9_000_789)
    tx = send_token(
        w3, usdc, payer=PAYERS[2], to=request.receiving_address, value=9_000_789
    )
    proof_attach(request=request, chain_id=CHAIN_ID, tx_hash=tx, source="customer")
    later = timezone.now() + timedelta(minutes=40)  # past the not-found timeout

    node.stop()  # only the stale node answers
    with pytest.raises(RpcUnavailable):
        proof_verify(request_id=request.pk, now=later)
    request.refresh_from_db()
    assert (request.proof_status, request.mismatch_reason) == ("attached", None)

    node.start()
    anvil.rpc("evm_mine")  # a fresh head: the good node is not stale
    assert proof_verify(request_id=request.pk, now=later).outcome == "verified"
    request.refresh_from_db()
    assert (request.proof_status, request.status) == ("verified", "paid")
