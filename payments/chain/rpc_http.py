"""The HTTP under ``ChainClient``: pooled sessions, each call within a deadline.

requests applies its timeout to the connect and to each socket read on their
own: a node that took most of the timeout to accept the connection, then
answered a few bytes at a time (every wait under the timeout), held a call
for the connect time plus the whole answer, far past a check's or the
reverify API's budget (D19, D35). ``call_deadline`` sets the moment this
thread's RPC call must end by: the look-up of the node's name and the connect
get what is left of it, and every read of the answer (headers and body) only
what is left then, so the call raises a timeout at the deadline however the
node spreads its bytes, and however slow the resolver is.
"""

from __future__ import annotations

import http.client
import io
import ipaddress
import os
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from contextlib import contextmanager
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import (
    ConnectTimeoutError,
    NameResolutionError,
    NewConnectionError,
    ReadTimeoutError,
)

_local = threading.local()


def _left() -> float | None:
    """Seconds until this thread's call deadline (None: no deadline set)."""
    deadline = getattr(_local, "deadline", None)
    return None if deadline is None else deadline - time.monotonic()


@contextmanager
def call_deadline(seconds: float) -> Iterator[None]:
    """RPC HTTP calls of this thread end within ``seconds`` from now, in all."""
    previous = getattr(_local, "deadline", None)
    _local.deadline = time.monotonic() + seconds
    try:
        yield
    finally:
        _local.deadline = previous


class _DeadlineReader(io.RawIOBase):
    """A response's socket reads, each given only what is left of the deadline."""

    def __init__(self, sock: socket.socket) -> None:
        super().__init__()
        self._sock = sock
        self._raw = sock.makefile("rb", buffering=0)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int | None:
        left = _left()
        if left is not None:
            if left <= 0:
                # urllib3 turns it into a read timeout (requests.ReadTimeout).
                raise TimeoutError("RPC call deadline passed")
            self._sock.settimeout(left)
        return self._raw.readinto(buffer)

    def close(self) -> None:
        self._raw.close()
        super().close()


class _Socket:
    """What ``http.client.HTTPResponse`` needs of a socket: ``makefile``."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def makefile(self, mode: str = "rb", *args: Any, **kwargs: Any) -> io.IOBase:
        return io.BufferedReader(_DeadlineReader(self._sock))


class _DeadlineResponse(http.client.HTTPResponse):
    def __init__(self, sock: socket.socket, *args: Any, **kwargs: Any) -> None:
        super().__init__(_Socket(sock), *args, **kwargs)  # type: ignore[arg-type]


# Look-ups with a deadline run here. The system resolver cannot be interrupted
# (glibc waits 5 s a try, twice, per name server), so a slow one keeps a
# thread of this pool, never the caller: the caller stops at its deadline.
RESOLVER_THREADS = 2
_resolvers: dict[int, ThreadPoolExecutor] = {}


def _resolve(host: str, port: int, seconds: float) -> list[str]:
    """The addresses of ``host`` in the resolver's order, or ``ConnectTimeoutError``
    when it has not answered within ``seconds``."""
    pool = _resolvers.get(os.getpid())  # threads do not survive a fork
    if pool is None:
        pool = _resolvers[os.getpid()] = ThreadPoolExecutor(
            RESOLVER_THREADS, "jopay-rpc-dns"
        )
    future = pool.submit(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
    try:
        infos = future.result(timeout=max(seconds, 0))
    except FutureTimeout:
        future.cancel()  # still queued: never runs
        raise ConnectTimeoutError(
            f"{host}: no DNS answer within the call deadline"
        ) from None
    return list(dict.fromkeys(info[4][0] for info in infos))


class _ResolvedInTime:
    """The node's name is looked up within what is left of the deadline, and
    the connect gets only what is left after it: ``create_connection``'s own
    look-up had no timeout at all."""

    def _new_conn(self) -> socket.socket:
        name, left = self._dns_host, _left()
        try:
            ipaddress.ip_address(name)
        except ValueError:
            pass
        else:
            left = None  # an address literal needs no look-up
        if left is None:
            return super()._new_conn()  # type: ignore[misc]
        try:
            addresses = _resolve(name, self.port, left)
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc
        try:
            for i, address in enumerate(addresses):
                left = _left()
                if left is None or left <= 0:
                    raise ConnectTimeoutError(self, "RPC call deadline passed")
                timeout = self.timeout
                if isinstance(timeout, int | float):
                    left = min(timeout, left)
                self._dns_host, self.timeout = address, left
                try:
                    return super()._new_conn()  # type: ignore[misc]
                except NewConnectionError:  # refused, unreachable: the next one
                    if i == len(addresses) - 1:
                        raise
            raise NameResolutionError(self.host, self, OSError("no address"))
        finally:
            self._dns_host = name


class _HTTPConnection(_ResolvedInTime, HTTPConnection):
    response_class = _DeadlineResponse


class _HTTPSConnection(_ResolvedInTime, HTTPSConnection):
    response_class = _DeadlineResponse


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


class _DeadlineAdapter(HTTPAdapter):
    """Connects within what is left of the deadline; reads as ``_DeadlineReader``;
    the deadline passing while the body is read is a read timeout."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {  # type: ignore[attr-defined]
            "http": _HTTPPool,
            "https": _HTTPSPool,
        }

    def send(self, request: Any, *args: Any, **kwargs: Any) -> requests.Response:
        left = _left()
        if left is not None:
            if left <= 0:
                raise requests.exceptions.ConnectTimeout("RPC call deadline passed")
            kwargs["timeout"] = (left, left)
        response = super().send(request, *args, **kwargs)
        if left is not None and not kwargs.get("stream"):
            # Read the body here: requests turns a read timeout in the body
            # into a ConnectionError, and a wide eth_getLogs answered too
            # slowly is a slow call (narrowed, ``rpc_logs``), not a dead node.
            try:
                response.content  # noqa: B018 (reads and keeps the body)
            except requests.exceptions.ConnectionError as exc:
                if exc.args and isinstance(exc.args[0], ReadTimeoutError):
                    raise requests.exceptions.ReadTimeout(
                        exc.args[0], request=request
                    ) from exc
                raise
        return response


_sessions = threading.local()


def http_session() -> requests.Session:
    """This thread's pooled HTTP session for RPC calls (a new one after a fork).

    web3 gives every provider a session of its own, and a client lives for one
    task run: each watcher tick left its kept-alive connections to the node
    open until a full garbage collection, so a worker held more and more of
    them. One session per thread reuses them; requests bounds its pools.
    """
    pid = os.getpid()
    if getattr(_sessions, "pid", None) != pid:
        session = requests.Session()
        session.mount("http://", _DeadlineAdapter())
        session.mount("https://", _DeadlineAdapter())
        _sessions.session, _sessions.pid = session, pid
    return _sessions.session
