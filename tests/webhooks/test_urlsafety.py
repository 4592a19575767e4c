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
    ],
)
def test_private_hosts_are_refused_in_production(host, production):
    with pytest.raises(urlsafety.UnsafeUrlError):
        urlsafety.check_url(f"https://{host}/hook")


def test_public_address_is_accepted_in_production(production):
    urlsafety.check_url("https://93.184.216.34/hook")
    urlsafety.check_url("https://[2606:2800:220:1:248:1893:25c8:1946]:8443/hook")


def test_loopback_is_allowed_when_the_setting_says_so(settings):
    settings.JOPAY_WEBHOOK_ALLOW_PRIVATE_HOSTS = True
    urlsafety.check_url("https://127.0.0.1:8443/hook")
    urlsafety.check_url("https://localhost/hook")


def test_unresolvable_host_is_refused(production):
    with pytest.raises(urlsafety.UnresolvableHostError):
        urlsafety.check_url("https://no-such-host.invalid/hook")
