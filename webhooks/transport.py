"""Webhook HTTP transport: a pooled session whose sockets go to approved addresses.

One ``requests.Session`` per worker process keeps connections to receivers
alive between deliveries. A new connection opens only to an address that
``urlsafety.check_url`` approved for the send at hand (``connect_only_to``):
``requests`` never resolves the host again, so a DNS record that answers
"public" to the check and "private" to the connect (rebinding) reaches
nothing (D26). A kept-alive connection was opened to an approved address too.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from http.cookiejar import DefaultCookiePolicy

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.util.connection import create_connection

from .interim import FinalResponse

_session: requests.Session | None = None
_session_pid: int | None = None
# (host, addresses) approved by urlsafety.check_url for the send in progress.
_approved: ContextVar[tuple[str, tuple[str, ...]] | None] = ContextVar(
    "jopay_webhook_approved", default=None
)
# The send in progress under ``cut_off_at``: its deadline and what it opened.
_cut_off: ContextVar[_CutOff | None] = ContextVar("jopay_webhook_cut_off", default=None)


@contextmanager
def connect_only_to(host: str, addresses: list[str]) -> Iterator[None]:
    """New connections made inside this block open only to ``addresses``."""
    token = _approved.set((host.rstrip("."), tuple(addresses)))
    try:
        yield
    finally:
        _approved.reset(token)


@dataclass(eq=False)
class _CutOff:
    deadline: float  # time.monotonic()
    used: list = field(default_factory=list)  # connections

    def cut(self) -> None:
        for conn in list(self.used):
            sock = conn.sock
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


# A pooled connection is used for new sends for at most this long after it
# opened; then it is closed and the next send connects afresh: it looks the
# host up again (``urlsafety.check_url`` has already approved the new
# addresses) and handshakes again. Without it a busy receiver's kept-alive
# connection lived for ever: a partner moving its receiver (DNS) or rotating
# its certificate kept getting deliveries at the old address, over the old
# certificate. 5 min is the usual TTL of a DNS record meant to be switched
# quickly, so a switch takes effect about as fast as DNS itself lets it, and
# one handshake per receiver per 5 min costs nothing next to a send.
POOLED_CONNECTION_MAX_AGE_SECONDS = 300.0

# How often the watchdog looks at the sends in progress: a send is cut off at
# most this long after its deadline.
CUT_OFF_POLL_SECONDS = 0.25


class _Watchdog:
    """One thread per process that cuts off the sends past their deadline.

    One thread for all sends, not a timer each: starting a thread per attempt
    cost about a tenth of a delivery's time. Cutting and forgetting a send
    happen under one lock, so a send that has ended is never cut (its
    kept-alive connection may already carry the next one).
    """

    def __init__(self) -> None:
        self._reset()
        os.register_at_fork(after_in_child=self._reset)

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._sends: set[_CutOff] = set()
        self._thread: threading.Thread | None = None

    def watch(self, state: _CutOff) -> None:
        with self._lock:
            self._sends.add(state)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="jopay-webhook-cut-off", daemon=True
                )
                self._thread.start()

    def forget(self, state: _CutOff) -> None:
        with self._lock:
            self._sends.discard(state)

    def _run(self) -> None:
        while True:
            time.sleep(CUT_OFF_POLL_SECONDS)
            now = time.monotonic()
            with self._lock:
                for state in [s for s in self._sends if s.deadline <= now]:
                    self._sends.discard(state)
                    state.cut()


_watchdog = _Watchdog()


@contextmanager
def cut_off_at(deadline: float) -> Iterator[None]:
    """Shut the sockets a request inside this block uses down at ``deadline``.

    ``deadline`` is a ``time.monotonic()`` value. The timeouts ``requests``
    takes bound each read, not the whole answer: a receiver sending its
    status line, headers or body a byte at a time held the worker until the
    task's time limit (logged as an internal error, without a latency)
    although D24 gives it 8 s. (The TLS handshake has a deadline of its own:
    the socket's timeout, set to what is left of the send's time once the TCP
    connect succeeded; see ``_new_conn``.) Cut off, within
    ``CUT_OFF_POLL_SECONDS``, the request raises a connection error, which
    the caller reads as the timeout it is, or the body read ends.
    """
    state = _CutOff(deadline)
    token = _cut_off.set(state)
    _watchdog.watch(state)
    try:
        yield
    finally:
        _watchdog.forget(state)
        _cut_off.reset(token)


def _use(item: object) -> None:
    state = _cut_off.get()
    if state is not None:
        state.used.append(item)


class _PinnedMixin:
    """A urllib3 connection that opens its socket to an approved address only.

    The host name still goes into SNI, certificate verification and ``Host``;
    only the address comes from the D26 check instead of a second look-up.
    With no approval for this host (a send that skipped the check) it refuses.
    Interim 1xx answers are skipped (``interim.FinalResponse``).
    """

    response_class = FinalResponse

    def request(self, *args, **kwargs):
        _use(self)  # a kept-alive connection too: ``cut_off_at`` reaches it
        return super().request(*args, **kwargs)

    def _new_conn(self):
        approved = _approved.get()
        if approved is None or approved[0] != self.host:
            raise NewConnectionError(self, f"{self.host}: no D26-approved address")
        error: OSError | None = None
        timed_out: str | None = None
        state = _cut_off.get()
        for address in approved[1]:
            late = state is not None and time.monotonic() >= state.deadline
            if error is not None and late:
                break  # no time left to try another address
            try:
                sock = create_connection(
                    (address, self.port),
                    self.timeout,
                    source_address=self.source_address,
                    socket_options=self.socket_options,
                )
            except TimeoutError as exc:
                # The next address is tried too, as urllib3's own connect does:
                # one address dropping packets (a node down, a broken IPv6
                # route) failed every delivery to a host that answered at its
                # others (D24). ``cut_off_at``'s deadline bounds the loop.
                error, timed_out = exc, address
            except OSError as exc:
                error = exc
            else:
                if state is not None:
                    # The connect timeout caps each address's TCP connect, so
                    # another can still be tried; the TLS handshake that
                    # follows gets the rest of the send's time (D24: a 2xx
                    # within 8 s of the look-up), not only that cap.
                    sock.settimeout(max(state.deadline - time.monotonic(), 0.01))
                self.jopay_opened_at = time.monotonic()  # see _MaxAgePoolMixin
                return sock
        if timed_out is not None:
            raise ConnectTimeoutError(
                self, f"connect to {self.host} ({timed_out}) timed out"
            ) from error
        raise NewConnectionError(
            self, f"{self.host}: no approved address answered: {error}"
        )


class _PinnedHTTPConnection(_PinnedMixin, HTTPConnection):
    pass


class _PinnedHTTPSConnection(_PinnedMixin, HTTPSConnection):
    pass


class _MaxAgePoolMixin:
    """A pool that closes a kept-alive connection older than
    ``POOLED_CONNECTION_MAX_AGE_SECONDS`` before a send uses it: the send
    opens a new one, to the addresses approved for it, with a new handshake."""

    def _get_conn(self, timeout=None):
        conn = super()._get_conn(timeout)
        opened_at = getattr(conn, "jopay_opened_at", None)
        if (
            opened_at is not None
            and time.monotonic() - opened_at >= POOLED_CONNECTION_MAX_AGE_SECONDS
        ):
            conn.close()  # reconnects (``_new_conn``) when the send uses it
            conn.jopay_opened_at = None
        return conn


class _PinnedHTTPPool(_MaxAgePoolMixin, HTTPConnectionPool):
    ConnectionCls = _PinnedHTTPConnection


class _PinnedHTTPSPool(_MaxAgePoolMixin, HTTPSConnectionPool):
    ConnectionCls = _PinnedHTTPSConnection


class _PinnedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _PinnedHTTPPool,
            "https": _PinnedHTTPSPool,
        }


class _NeverRedirectingSession(requests.Session):
    """A session that never looks at a redirect's target (D24, D26).

    ``allow_redirects=False`` alone is not enough: ``requests`` still walks a
    3xx's ``Location`` to prepare ``Response.next``, and reads the answer's
    whole body first "to release the socket", unbounded, before the caller
    sees it. A receiver answering 302 with an endless body filled the
    worker's memory until the 8 s cut-off (and the attempt log got an empty
    body, the 2 KiB cap never applied).
    """

    def get_redirect_target(self, resp) -> None:
        return None


def session() -> requests.Session:
    """This process's pooled session (recreated after a fork)."""
    global _session, _session_pid
    if _session is None or _session_pid != os.getpid():
        new = _NeverRedirectingSession()
        # No proxies or netrc from the environment: they could route around D26.
        new.trust_env = False
        # No cookies: the session is shared by every partner's deliveries, so a
        # Set-Cookie from one receiver rode on the next delivery to that host,
        # another partner's included, and the jar grew for the process's life.
        new.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
        adapter = _PinnedAdapter(pool_connections=16, pool_maxsize=16, max_retries=0)
        new.mount("https://", adapter)
        new.mount("http://", adapter)
        _session, _session_pid = new, os.getpid()
    return _session
