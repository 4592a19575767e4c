"""Outbound URL safety for webhook endpoints (D26).

A webhook URL must be ``https://`` with a host. Unless
``settings.JOPAY_WEBHOOK_ALLOW_PRIVATE_HOSTS`` is on (development, tests), the
host must resolve only to public addresses: private, loopback, link-local,
multicast, reserved, unspecified and shared (CGNAT) ranges are refused, and so
are IPv6 forms that carry such an IPv4 address (mapped, 6to4, NAT64) and the
deprecated site-local and IPv4-compatible ranges, and 192.0.0.0/24 and
3fff::/20 on every Python 3.11 (``_ALSO_REFUSED``). The check runs when the URL
is saved and again before every send, so a DNS record changed after saving
cannot point deliveries into the private network; ``check_url`` returns the
addresses it approved, and the sender connects only to those (no second
look-up that a short-lived DNS record could answer differently).

Host names are IDNA-encoded exactly as ``requests`` encodes them (UTS 46), so
the name checked is the name connected to, sent as ``Host`` and verified in
TLS: Python's own IDNA 2003 codec maps ``faß.de`` to ``fass.de``, another
domain than the ``xn--fa-hia.de`` that ``requests`` would ask for.
"""

from __future__ import annotations

import ipaddress
import os
import re
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from urllib.parse import urlsplit

import idna
from django.conf import settings

from merchants.validation import has_unstorable_chars

MAX_URL_LENGTH = 2000
_WHITESPACE = re.compile(r"\s")


class UnsafeUrlError(ValueError):
    """The URL is malformed, not https, or (in production) not a public host."""


class UnresolvableHostError(UnsafeUrlError):
    """The host has no address right now (may be transient at send time)."""


class ResolveTimeoutError(UnresolvableHostError):
    """The resolver had not answered by the caller's deadline."""


_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052: the last 32 bits are IPv4
_IPV6_REFUSED = (
    ipaddress.ip_network("::/96"),  # IPv4-compatible (deprecated), :: and ::1
    ipaddress.ip_network("::ffff:0:0:0/96"),  # IPv4-translated (RFC 2765)
    ipaddress.ip_network("64:ff9b:1::/48"),  # NAT64 for local use (RFC 8215)
    ipaddress.ip_network("fec0::/10"),  # site-local (deprecated, still routable)
)
# Not globally reachable (IANA's special-purpose registries), whatever the
# interpreter's table says: Python before 3.11.10 / 3.12.4 (CVE-2024-4032)
# called most of 192.0.0.0/24 and all of 3fff::/20 global.
_ALSO_REFUSED = (
    ipaddress.ip_network("192.0.0.0/24"),  # IETF protocol assignments
    ipaddress.ip_network("3fff::/20"),  # documentation (RFC 9637)
)


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address a mapped, 6to4 or NAT64 IPv6 address reaches, if any."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
    if isinstance(ip, ipaddress.IPv6Address):
        if any(ip in net for net in _IPV6_REFUSED):
            return False
        ip = _embedded_ipv4(ip) or ip
    if any(ip in net for net in _ALSO_REFUSED):
        return False
    return ip.is_global and not (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
    )


def parse_https_url(url: object) -> tuple[str, int]:
    """``(host, port)`` of a syntactically valid https URL, else ``UnsafeUrlError``."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        raise UnsafeUrlError("not a URL")
    # Control characters (C0 and C1) and lone surrogates (a JSON "\\ud800"
    # escape cannot be encoded as UTF-8, so saving it was a 500): the same
    # check as every other stored text field, so the API and the portal answer
    # invalid_webhook_url (D26).
    if _WHITESPACE.search(url) or has_unstorable_chars(url):
        raise UnsafeUrlError("whitespace, control characters or lone surrogates")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeUrlError(str(exc)) from None
    if port == 0:  # checked as 443 below, yet every send went to port 0
        raise UnsafeUrlError("port 0")
    port = port or 443
    if parts.scheme.lower() != "https":
        raise UnsafeUrlError("only https:// URLs are accepted")
    if not parts.hostname:
        raise UnsafeUrlError("no host")
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrlError("credentials in the URL are not accepted")
    return _idna_host(parts.hostname), port


def _idna_host(host: str) -> str:
    """``host`` as ``requests`` sends it: non-ASCII names through IDNA 2008/UTS 46."""
    if host.isascii():
        return host
    try:
        return idna.encode(host, uts46=True).decode("ascii")
    except idna.IDNAError as exc:
        raise UnsafeUrlError(f"invalid international host name: {exc}") from None


def resolve(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (an IP literal resolves to itself)."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return [host]
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError, OSError) as exc:
        raise UnresolvableHostError(f"{host} does not resolve") from exc
    # In the resolver's order (RFC 6724: it puts last an address family this
    # host cannot reach), each once. Sorted as text, an IPv6 address ("2…")
    # went before an IPv4 one ("9…"): from a host without IPv6 every send
    # spent the 4 s connect cap of its 8 s on an address it could not reach.
    return list(dict.fromkeys(info[4][0] for info in infos))


# Look-ups with a deadline run here. The system resolver cannot be
# interrupted, so a slow one keeps a thread of this pool (until its own
# timeouts end it), never the caller; while every thread is busy, look-ups
# queue and their callers still stop at their deadlines.
RESOLVER_THREADS = 4
_pool: ThreadPoolExecutor | None = None
_pool_pid: int | None = None


def _resolver_pool() -> ThreadPoolExecutor:
    global _pool, _pool_pid
    if _pool is None or _pool_pid != os.getpid():  # threads do not survive a fork
        _pool = ThreadPoolExecutor(RESOLVER_THREADS, "jopay-webhook-dns")
        _pool_pid = os.getpid()
    return _pool


def _resolve_by(host: str, port: int, deadline: float) -> list[str]:
    """``resolve``, but ``ResolveTimeoutError`` once ``deadline`` has passed."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return [host]  # no look-up, so no thread hop
    future = _resolver_pool().submit(resolve, host, port)
    try:
        return future.result(timeout=max(deadline - time.monotonic(), 0))
    except FutureTimeout:
        future.cancel()  # still queued: never runs
        raise ResolveTimeoutError(f"{host}: no DNS answer in time") from None


def check_url(url: object, *, deadline: float | None = None) -> tuple[str, list[str]]:
    """``(host, addresses)`` that ``url`` may receive webhooks at now (D26).

    Raises ``UnsafeUrlError`` (``UnresolvableHostError`` when the host has no
    address, ``ResolveTimeoutError`` when it has none by ``deadline``, a
    ``time.monotonic()`` value) otherwise. ``host`` is the IDNA-encoded name;
    a sender must connect only to ``addresses``, never look the name up again.
    """
    host, port = parse_https_url(url)
    if deadline is None:
        addresses = resolve(host, port)
    else:
        addresses = _resolve_by(host, port, deadline)
    if not addresses:
        raise UnresolvableHostError(f"{host} has no address")
    if settings.JOPAY_WEBHOOK_ALLOW_PRIVATE_HOSTS:
        return host, addresses
    if not all(_is_public(a) for a in addresses):
        raise UnsafeUrlError(f"{host} resolves to a non-public address")
    return host, addresses
