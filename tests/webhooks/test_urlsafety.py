"""D26: https only; public hosts only unless JOPAY_WEBHOOK_ALLOW_PRIVATE_HOSTS."""

from __future__ import annotations

import pytest

from webhooks import urlsafety


@pytest.fixture
def production(settings):
    settings.JOPAY_WEBHOOK_ALLOW_PRIVATE_HOSTS = False


@pytest.mark.parametrize(
    "url",
    [
        "http://93.184.216.34/hook",
        "ftp://93.184.216.34/hook",
        "https:///nohost",
        "https://user:pw@93.184.216.34/hook",
        "https://93.184.216.34:99999/hook",
        "https://93.184.216.34:0/hook",  # was checked as 443, sent to port 0
        "https://93.184.216.34:00/hook",
        "https://93.184.216.34/ho ok",
        "",
        None,
        42,
        "https://" + "a" * 2000 + ".com/",
    ],
)
def test_malformed_or_non_https_urls_are_refused(url, production):
    with pytest.raises(urlsafety.UnsafeUrlError):
        urlsafety.check_url(url)


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",  # loopback
        "localhost",
        "10.1.2.3",  # private
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",  # link-local (cloud metadata)
        "100.64.0.1",  # shared address space
        "0.0.0.0",  # noqa: S104 (unspecified)
        "224.0.0.1",  # multicast
        "240.0.0.1",  # reserved
        "[::1]",
        "[fe80::1]",
        "[fc00::1]",
        "[::ffff:127.0.0.1]",  # IPv4-mapped loopback
        "[::127.0.0.1]",  # IPv4-compatible (deprecated)
        "[::ffff:0:a00:1]",  # IPv4-translated 10.0.0.1
        "[2002:7f00:1::1]",  # 6to4 of 127.0.0.1
        "[2002:a00:1::]",  # 6to4 of 10.0.0.1
        "[64:ff9b::a9fe:a9fe]",  # NAT64 of 169.254.169.254
        "[64:ff9b:1::8.8.8.8]",  # local-use NAT64
        "[fec0::1]",  # site-local (deprecated)
        # IANA: not globally reachable. Python before 3.11.10 / 3.12.4
        # (CVE-2024-4032) called most of 192.0.0.0/24 and all of 3fff::/20
        # global, so the refusal depended on the interpreter's patch level.
        "192.0.0.8",  # IPv4 dummy address (RFC 7600)
        "192.0.0.200",  # IETF protocol assignments
        "[3fff::1]",  # documentation (RFC 9637)
    ],
)
def test_private_hosts_are_refused_in_production(host, production):
    with pytest.raises(urlsafety.UnsafeUrlError):
        urlsafety.check_url(f"https://{host}/hook")


def test_public_address_is_accepted_in_production(production):
    assert urlsafety.check_url("https://93.184.216.34/hook") == (
        "93.184.216.34",
        ["93.184.216.34"],
    )
    urlsafety.check_url("https://[2002:5db8:d822::1]/hook")  # 6to4 of a public address
    urlsafety.check_url("https://[64:ff9b::5db8:d822]/hook")  # NAT64 of one
    urlsafety.check_url("https://[2606:2800:220:1:248:1893:25c8:1946]:8443/hook")


def test_loopback_is_allowed_when_the_setting_says_so(settings):
    settings.JOPAY_WEBHOOK_ALLOW_PRIVATE_HOSTS = True
    urlsafety.check_url("https://127.0.0.1:8443/hook")
    urlsafety.check_url("https://localhost/hook")


def test_unresolvable_host_is_refused(production):
    with pytest.raises(urlsafety.UnresolvableHostError):
        urlsafety.check_url("https://no-such-host.invalid/hook")


@pytest.mark.parametrize(
    "url",
    [
        "https://8.8.8.8/\ud800",  # a lone surrogate: no UTF-8, saving it was a 500
        "https://8.8.8.8/\udfff?x=1",
        "https://\ud800.example.com/hook",
        "https://8.8.8.8/\x80",  # a C1 control character
        "https://8.8.8.8/\x9f",
    ],
)
def test_lone_surrogates_and_control_characters_are_refused(url, settings):
    # D26: not a usable URL, in development as in production.
    settings.JOPAY_WEBHOOK_ALLOW_PRIVATE_HOSTS = True
    with pytest.raises(urlsafety.UnsafeUrlError):
        urlsafety.parse_https_url(url)
    with pytest.raises(urlsafety.UnsafeUrlError):
        urlsafety.check_url(url)


def test_addresses_keep_the_resolvers_order_each_once(monkeypatch):
    """The sender tries them in this order, each with a 4 s connect cap. The
    resolver puts an address family the host cannot reach last (RFC 6724);
    sorted as text, "2001:…" went before "93.…", and from a host without IPv6
    every send spent half its 8 s on an address it could not reach."""
    answers = ["93.184.216.34", "2001:db8::1", "93.184.216.34", "93.184.216.35"]

    def getaddrinfo(host, port, *args, **kwargs):
        return [(None, None, None, "", (address, port)) for address in answers]

    monkeypatch.setattr(urlsafety.socket, "getaddrinfo", getaddrinfo)

    assert urlsafety.resolve("hooks.example.com", 443) == [
        "93.184.216.34",
        "2001:db8::1",
        "93.184.216.35",
    ]
