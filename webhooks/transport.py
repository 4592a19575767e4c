"""Webhook HTTP transport: a pooled session whose sockets go to approved addresses.

One ``requests.Session`` per worker process keeps connections to receivers
alive between deliveries. A new connection opens only to an address that
``urlsafety.check_url`` approved for the send at hand (``connect_only_to``):
``requests`` never resolves the host again, so a DNS record that answers
"public" to the check and "private" to the connect (rebinding) reaches
nothing (D26). A kept-alive connection was opened to an approved address too.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.util.connection import create_connection

_session: requests.Session | None = None
_session_pid: int | None = None
# (host, addresses) approved by urlsafety.check_url for the send in progress.
_approved: ContextVar[tuple[str, tuple[str, ...]] | None] = ContextVar(
    "jopay_webhook_approved", default=None
)


@contextmanager
def connect_only_to(host: str, addresses: list[str]) -> Iterator[None]:
    """New connections made inside this block open only to ``addresses``."""
    token = _approved.set((host.rstrip("."), tuple(addresses)))
    try:
        yield
    finally:
        _approved.reset(token)


class _PinnedMixin:
    """A urllib3 connection that opens its socket to an approved address only.

    The host name still goes into SNI, certificate verification and ``Host``;
    only the address comes from the D26 check instead of a second look-up.
    With no approval for this host (a send that skipped the check) it refuses.
    """

    def _new_conn(self):
        approved = _approved.get()
        if approved is None or approved[0] != self.host:
            raise NewConnectionError(self, f"{self.host}: no D26-approved address")
        error: OSError | None = None
        timed_out: str | None = None
        for address in approved[1]:
            try:
                return create_connection(
                    (address, self.port),
                    self.timeout,
                    source_address=self.source_address,
                    socket_options=self.socket_options,
                )
            except TimeoutError as exc:
                # The next address is tried too, as urllib3's own connect does:
                # one address dropping packets (a node down, a broken IPv6
                # route) failed every delivery to a host that answered at its
                # others (D24). The task's time limits bound the whole send.
                error, timed_out = exc, address
            except OSError as exc:
                error = exc
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


class _PinnedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _PinnedHTTPConnection


class _PinnedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _PinnedHTTPSConnection


class _PinnedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _PinnedHTTPPool,
            "https": _PinnedHTTPSPool,
        }


def session() -> requests.Session:
    """This process's pooled session (recreated after a fork)."""
    global _session, _session_pid
    if _session is None or _session_pid != os.getpid():
        new = requests.Session()
        # No proxies or netrc from the environment: they could route around D26.
        new.trust_env = False
        adapter = _PinnedAdapter(pool_connections=16, pool_maxsize=16, max_retries=0)
        new.mount("https://", adapter)
        new.mount("http://", adapter)
        _session, _session_pid = new, os.getpid()
    return _session
