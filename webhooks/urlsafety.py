"""Outbound URL safety for webhook endpoints (D26).

A webhook URL must be ``https://`` with a host. Unless
``settings.JOPAY_WEBHOOK_ALLOW_PRIVATE_HOSTS`` is on (development, tests), the
host must resolve only to public addresses: private, loopback, link-local,
multicast, reserved, unspecified and shared (CGNAT) ranges are refused. The
check runs when the URL is saved and again before every send, so a DNS record
changed after saving cannot point deliveries into the private network.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from urllib.parse import urlsplit

from django.conf import settings

MAX_URL_LENGTH = 2000
_BAD_CHARS = re.compile(r"[\s\x00-\x1f\x7f]")


class UnsafeUrlError(ValueError):
    """The URL is malformed, not https, or (in production) not a public host."""


class UnresolvableHostError(UnsafeUrlError):
    """The host has no address right now (may be transient at send time)."""


def _is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone id
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
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
    if _BAD_CHARS.search(url):
        raise UnsafeUrlError("whitespace or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port or 443
    except ValueError as exc:
        raise UnsafeUrlError(str(exc)) from None
    if parts.scheme.lower() != "https":
        raise UnsafeUrlError("only https:// URLs are accepted")
    if not parts.hostname:
        raise UnsafeUrlError("no host")
    if parts.username is not None or parts.password is not None:
        raise UnsafeUrlError("credentials in the URL are not accepted")
    return parts.hostname, port


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
    return sorted({info[4][0] for info in infos})


def check_url(url: object) -> None:
    """Raise ``UnsafeUrlError`` unless ``url`` may receive webhooks now (D26)."""
    host, port = parse_https_url(url)
    addresses = resolve(host, port)
    if settings.JOPAY_WEBHOOK_ALLOW_PRIVATE_HOSTS:
        return
    if not addresses or not all(_is_public(a) for a in addresses):
        raise UnsafeUrlError(f"{host} resolves to a non-public address")
