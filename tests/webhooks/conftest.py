"""A real local HTTPS webhook receiver and a real Celery worker for the webhook tests.

``receiver`` is a threaded ``http.server`` behind TLS with a ``trustme`` CA
(certificate for 127.0.0.1 and localhost). Each path answers from a
programmable script (status, headers, body, delay); every request is recorded
with its headers and raw body the moment it arrives. The ``settings`` fixture
points ``JOPAY_WEBHOOK_CA_BUNDLE`` at the CA, so delivery code verifies TLS
for real.

``celery_worker`` starts ``celery -A jopay_project worker`` as a subprocess
on the test database (pytest-django's ``test_<name>``), the same Redis db, and
a 1 s retry schedule; tests that use it commit their rows
(``django_db(transaction=True)``).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import trustme
from django.db import connection

from webhooks.models import WebhookEndpoint
from webhooks.services import webhook_endpoint_set

ROOT = Path(__file__).resolve().parents[2]
# A name no resolver knows; the receiver's certificate holds it (address pinning tests).
PINNED_TEST_HOST = "hooks.partner.test"


@dataclass
class Answer:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"ok"
    delay: float = 0.0


@dataclass
class Received:
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    at: float


class Receiver:
    """The programmable HTTPS receiver; ``url(path)`` is where to point a partner."""

    def __init__(self, ca: trustme.CA, ca_path: Path):
        self.ca_path = ca_path
        self._server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1", "localhost", PINNED_TEST_HOST).configure_cert(
            self._server_ctx
        )
        self.requests: list[Received] = []
        self._scripts: dict[str, list[Answer]] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._connections: set = set()
        self.port = 0

    # --- programming -----------------------------------------------------------
    def program(self, path: str, *answers: Answer) -> None:
        """Answer ``path`` with ``answers`` in turn; the last one repeats."""
        with self._lock:
            self._scripts[path] = list(answers)

    def _next_answer(self, path: str) -> Answer:
        with self._lock:
            script = self._scripts.get(path)
            if not script:
                return Answer()
            return script.pop(0) if len(script) > 1 else script[0]

    def url(self, path: str = "/hook", host: str = "127.0.0.1") -> str:
        return f"https://{host}:{self.port}{path}"

    def received(self, path: str | None = None) -> list[Received]:
        with self._lock:
            return [r for r in self.requests if path is None or r.path == path]

    def wait_for(self, count: int, path: str | None = None, timeout: float = 15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            got = self.received(path)
            if len(got) >= count:
                return got
            time.sleep(0.05)
        raise AssertionError(f"receiver got {len(self.received(path))}, wanted {count}")

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self._scripts.clear()

    # --- lifecycle -------------------------------------------------------------
    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real receivers do
            disable_nagle_algorithm = True  # headers + body: no 40 ms ACK stall

            def log_message(self, *args) -> None:
                pass

            def setup(self) -> None:
                super().setup()
                with receiver._lock:
                    receiver._connections.add(self.connection)

            def finish(self) -> None:
                with receiver._lock:
                    receiver._connections.discard(self.connection)
                super().finish()

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                with receiver._lock:
                    receiver.requests.append(
                        Received(
                            self.path,
                            {k.lower(): v for k, v in self.headers.items()},
                            body,
                            time.time(),
                        )
                    )
                answer = receiver._next_answer(self.path)
                if answer.delay:
                    time.sleep(answer.delay)
                try:
                    self.send_response(answer.status)
                    for name, value in answer.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(answer.body)))
                    self.end_headers()
                    self.wfile.write(answer.body)
                except OSError:
                    pass  # the client gave up (timeout test) or was killed

        server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        server.socket = self._server_ctx.wrap_socket(server.socket, server_side=True)
        self.port = server.server_address[1]
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self._server = server

    def stop(self) -> None:
        """Go down for real: stop listening and cut kept-alive connections."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        with self._lock:
            connections, self._connections = list(self._connections), set()
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)


@pytest.fixture(scope="session")
def _receiver_ca(tmp_path_factory) -> tuple[trustme.CA, Path]:
    ca = trustme.CA()
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return ca, path


@pytest.fixture(scope="session")
def _receiver_server(_receiver_ca):
    receiver = Receiver(*_receiver_ca)
    receiver.start()
    yield receiver
    receiver.stop()


@pytest.fixture
def receiver(_receiver_server, settings) -> Receiver:
    """The running receiver, emptied, with our TLS trust pointed at its CA (D26)."""
    _receiver_server.reset()
    if _receiver_server._server is None:
        _receiver_server.start()
    settings.JOPAY_WEBHOOK_CA_BUNDLE = str(_receiver_server.ca_path)
    settings.JOPAY_WEBHOOK_ALLOW_PRIVATE_HOSTS = True
    yield _receiver_server
    if _receiver_server._server is None:
        _receiver_server.start()


@pytest.fixture
def endpoint_for(receiver) -> Callable[..., tuple[WebhookEndpoint, str]]:
    """``endpoint_for(partner, path="/hook")`` → an enabled endpoint and its secret."""

    def make(partner, path: str = "/hook") -> tuple[WebhookEndpoint, str]:
        endpoint, secret = webhook_endpoint_set(
            partner=partner, url=receiver.url(path), enabled=True
        )
        return endpoint, secret

    return make


class Worker:
    def __init__(self, env: dict[str, str], log: Path):
        self.env, self.log = env, log
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self._fh = self.log.open("ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "jopay_project",
                "worker",
                "--pool",
                "solo",
                "--concurrency",
                "1",
                "--loglevel",
                "INFO",
                "--without-heartbeat",
                "--without-gossip",
                "--without-mingle",
                "-n",
                f"hooks-test-{os.getpid()}-{time.monotonic_ns()}@%h",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=self._fh,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("worker died:\n" + self.log.read_text()[-3000:])
            if " ready." in self.log.read_text():
                return
            time.sleep(0.1)
        raise AssertionError("worker not ready:\n" + self.log.read_text()[-3000:])

    def kill(self) -> None:
        """SIGKILL: no cleanup, no ack, exactly like an OOM kill."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
        self._fh.close()


@pytest.fixture
def celery_worker(receiver, transactional_db, tmp_path):
    """Start real workers (solo pool) on the test database: ``start()`` → a handle
    (``start(NAME="value")`` adds to the worker's environment).

    Retries use a 1 s schedule so a four-try run takes a few seconds.
    """
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "jopay_project.test_settings",
        "DATABASE_URL": (
            f"postgresql://{db['USER']}@{db['HOST'] or '127.0.0.1'}:"
            f"{db['PORT'] or 5432}/{db['NAME']}"
        ),
        "JOPAY_WEBHOOK_CA_BUNDLE": str(receiver.ca_path),
        "JOPAY_WEBHOOK_ALLOW_PRIVATE_HOSTS": "1",
        "JOPAY_WEBHOOK_RETRY_SCHEDULE": "1,1,1",
        # The worker needs no URLconf; skipping Django's system checks keeps
        # these tests about delivery (the checks have their own tests).
        "CELERY_SKIP_CHECKS": "1",
    }
    if db.get("PASSWORD"):
        env["DATABASE_URL"] = env["DATABASE_URL"].replace(
            f"//{db['USER']}@", f"//{db['USER']}:{db['PASSWORD']}@"
        )
    workers: list[Worker] = []

    def start(**more_env: str) -> Worker:
        worker = Worker({**env, **more_env}, tmp_path / f"worker{len(workers)}.log")
        workers.append(worker)
        worker.start()
        return worker

    start.workers = workers
    yield start
    for worker in workers:
        worker.stop()


def emit(
    partner,
    *,
    test_mode: bool = False,
    type: str = "payment.proof_attached",
    data: dict | None = None,
    request_id=None,
):
    """Emit one event in its own transaction, as a state change would (D24)."""
    from django.db import transaction

    from webhooks.services import event_emit

    with transaction.atomic():
        return event_emit(
            partner=partner,
            test_mode=test_mode,
            type=type,
            data=data or {"proof_status": "attached"},
            request_id=request_id,
        )


def make_due(delivery) -> None:
    """Time travel: the delivery's next attempt is due now and no lease is held."""
    from django.utils import timezone

    type(delivery).objects.filter(pk=delivery.pk).update(
        next_attempt_at=timezone.now(), locked_until=None
    )


@pytest.fixture
def dns(monkeypatch):
    """``dns[name] = [addresses]``: what the D26 check's look-up answers for
    ``name`` (no DNS server runs in the tests; other names resolve as usual).
    Also a fresh session: no kept-alive connection from an earlier test."""
    from webhooks import transport, urlsafety

    table: dict[str, list[str]] = {}
    real = urlsafety.resolve

    def resolve(host: str, port: int) -> list[str]:
        return table[host] if host in table else real(host, port)

    monkeypatch.setattr(urlsafety, "resolve", resolve)
    monkeypatch.setattr(transport, "_session", None)
    return table
