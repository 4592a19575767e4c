"""Who a caller is, for the per-IP rate limits (D27; spec §7.2: raw IPs are never
stored). Re-exported by ``jopay_project.ratelimits``, where callers find them."""

from __future__ import annotations

import hashlib
import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str:
    """The caller's address, as the outermost of our trusted proxies saw it.

    With ``JOPAY_TRUSTED_PROXY_COUNT`` = n ≥ 1, the n-th address from the right
    of ``X-Forwarded-For``: each of our proxies appends its peer, so entries
    further left are the client's own claims and are never trusted. With n = 0,
    or a header shorter than n (the request did not come through them all),
    ``REMOTE_ADDR``.
    """
    remote = request.META.get("REMOTE_ADDR") or "unknown"
    hops = settings.JOPAY_TRUSTED_PROXY_COUNT
    if hops <= 0:
        return remote
    chain = [
        part.strip()
        for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if part.strip()
    ]
    return chain[-hops] if len(chain) >= hops else remote


def client_bucket(address: str) -> str:
    """What one client is counted as: its IPv4 address, or its IPv6 /64.

    A customer line is handed a whole /64 (SLAAC, privacy addresses), so
    counting single IPv6 addresses let one client rotate through 2**64 of
    them past every per-IP limit. An IPv4 address inside IPv6 (``::ffff:…``)
    is counted as that IPv4 address. A port some proxies add (``1.2.3.4:5678``,
    ``[2001:db8::1]:5678``) is dropped: counted with it, each source port of
    one client was a bucket of its own. Anything else is counted as given.
    """
    try:
        ip = ipaddress.ip_address(_without_port(address).split("%", 1)[0])
    except ValueError:
        return address
    if ip.version == 4:
        return str(ip)
    if ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ipaddress.ip_network(f"{ip}/64", strict=False))


def _without_port(address: str) -> str:
    if address.startswith("["):  # [v6]:port
        return address[1:].split("]", 1)[0]
    host, sep, port = address.rpartition(":")
    if sep and host.count(":") == 0 and port.isdigit():  # v4:port
        return host
    return address


def client_ip_hash(request: HttpRequest) -> str:
    """A hashed client bucket (``client_bucket``); raw IPs are never stored (spec
    §7.2). Never raises."""
    raw = client_bucket(client_ip(request))
    return hashlib.sha256(f"{settings.SECRET_KEY}:{raw}".encode()).hexdigest()[:32]
