"""D27 / spec §7.1: per key and endpoint, fixed windows in the shared cache."""

from datetime import UTC, datetime

import pytest
import time_machine
from rest_framework.test import APIClient

from jopay_project import ratelimits

URL = "/api/v1/merchants"

# A window filled call by call must not roll over mid-test (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("frozen_clock")


def test_every_v1_answer_carries_the_headers(api):
    first = api.get(URL)
    assert first["X-RateLimit-Limit"] == "60"
    assert first["X-RateLimit-Remaining"] == "59"
    assert 1 <= int(first["X-RateLimit-Reset"]) <= 60
    assert api.get(URL)["X-RateLimit-Remaining"] == "58"


def test_error_answers_carry_them_too(api):
    response = api.get("/api/v1/merchants/not-a-uuid")
    assert response.status_code == 400
    assert response["X-RateLimit-Limit"] == "60"


def test_the_61st_call_in_a_window_is_rate_limited(api):
    for _ in range(60):
        assert api.get(URL).status_code == 200
    response = api.get(URL)
    assert response.status_code == 429
    body = response.json()
    assert body["error"] == "rate_limited"
    assert body["ok"] is False
    assert 1 <= int(response["Retry-After"]) <= 60
    assert response["X-RateLimit-Remaining"] == "0"
    assert response["Content-Type"].startswith("application/json")


def test_each_endpoint_and_each_key_has_its_own_counter(partner, client_for):
    one, two = client_for(partner), client_for(partner)
    for _ in range(60):
        one.get(URL)
    assert one.get(URL).status_code == 429
    assert two.get(URL).status_code == 200  # another key
    assert one.get("/api/v1/requests").status_code == 200  # another endpoint


def test_merchant_create_is_30_per_minute(api):
    assert api.post(URL, {}, format="json")["X-RateLimit-Limit"] == "30"


def test_partner_override_changes_the_limit(partner, api):
    partner.rate_limit_overrides = {"merchants.list": "2/m"}
    partner.save()
    assert api.get(URL)["X-RateLimit-Limit"] == "2"
    api.get(URL)
    assert api.get(URL).status_code == 429


@pytest.mark.django_db
def test_unauthenticated_callers_are_counted_per_address_and_never_crash():
    client = APIClient(REMOTE_ADDR="203.0.113.9")
    for _ in range(60):
        assert client.get(URL).status_code == 401
    assert client.get(URL).status_code == 429
    assert APIClient(REMOTE_ADDR="203.0.113.10").get(URL).status_code == 401
    no_address = APIClient()
    no_address.defaults.pop("REMOTE_ADDR", None)
    assert no_address.get(URL).status_code in (401, 429)


def test_limits_table_is_well_formed():
    for limit in ratelimits.LIMITS.values():
        count, seconds = ratelimits.parse_rate(limit.rate)
        assert count > 0
        assert seconds in (60, 900, 3600)


@pytest.mark.parametrize(
    ("hops", "forwarded", "expected"),
    [
        (0, "198.51.100.7", "10.0.0.5"),  # no proxy configured: the peer
        (1, "198.51.100.7", "198.51.100.7"),
        (1, "6.6.6.6, 198.51.100.7", "198.51.100.7"),  # a client's own claim ignored
        (2, "6.6.6.6, 198.51.100.7, 10.0.0.9", "198.51.100.7"),
        (2, "198.51.100.7", "10.0.0.5"),  # shorter than the hops: not via them all
        (1, "", "10.0.0.5"),
    ],
)
def test_client_ip_trusts_only_the_configured_proxies(
    rf, settings, hops, forwarded, expected
):
    settings.JOPAY_TRUSTED_PROXY_COUNT = hops
    request = rf.get("/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR=forwarded)
    assert ratelimits.client_ip(request) == expected


@pytest.mark.parametrize(
    ("address", "bucket"),
    [
        ("198.51.100.7", "198.51.100.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:bbbb:cccc:dddd:eeee", "2001:db8:1:2::/64"),  # same client
        ("2001:db8:1:3::1", "2001:db8:1:3::/64"),  # the next /64: another
        ("fe80::1%eth0", "fe80::/64"),
        ("::ffff:198.51.100.7", "198.51.100.7"),  # IPv4 inside IPv6
        ("unknown", "unknown"),
        # A port some proxies append: one client, not one bucket per port.
        ("198.51.100.7:50123", "198.51.100.7"),
        ("[2001:db8:1:2:aaaa::1]:443", "2001:db8:1:2::/64"),
        ("2001:db8:1:2::1", "2001:db8:1:2::/64"),  # colons, but no port
    ],
)
def test_a_client_is_its_ipv4_address_or_its_ipv6_slash_64(address, bucket):
    """One IPv6 line holds a /64: counting single addresses let a client
    rotate past every per-IP limit (D27)."""
    assert ratelimits.client_bucket(address) == bucket


@pytest.mark.django_db
def test_rotating_ipv6_addresses_within_a_slash_64_share_one_counter():
    for n in range(60):
        answer = APIClient(REMOTE_ADDR=f"2001:db8:1:2::{n + 1:x}").get(URL)
        assert answer.status_code == 401
    assert APIClient(REMOTE_ADDR="2001:db8:1:2::ffff").get(URL).status_code == 429
    assert APIClient(REMOTE_ADDR="2001:db8:9:9::1").get(URL).status_code == 401


@pytest.mark.django_db
def test_behind_a_proxy_each_client_has_its_own_per_ip_counter(settings):
    # D27 per-IP limits: behind one load balancer every REMOTE_ADDR is the
    # balancer's, so without the setting all callers would share one bucket.
    settings.JOPAY_TRUSTED_PROXY_COUNT = 1
    proxy = {"REMOTE_ADDR": "10.0.0.1"}
    first = APIClient(**proxy, HTTP_X_FORWARDED_FOR="203.0.113.20")
    for _ in range(60):
        assert first.get(URL).status_code == 401
    assert first.get(URL).status_code == 429
    # The same proxy, another client: its own window.
    other = APIClient(**proxy, HTTP_X_FORWARDED_FOR="203.0.113.21")
    assert other.get(URL).status_code == 401
    # A client cannot pick a fresh bucket by prepending addresses of its own.
    spoof = APIClient(**proxy, HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.20")
    assert spoof.get(URL).status_code == 429


def test_take_back_uncounts_one_call_and_never_goes_below_zero(rf):
    """D27 login attempts are counted before the check and given back when they
    were no failure: the counter returns to where it was, never below."""
    request = rf.post("/")
    first = ratelimits.hit(request, "portal.login", "user:x", increment=True)
    assert (first.remaining, first.exceeded) == (9, False)
    ratelimits.take_back(first)
    ratelimits.take_back(first)  # a second give-back must not make room
    peek = ratelimits.hit(request, "portal.login", "user:x", increment=False)
    assert peek.remaining == 10
    assert ratelimits.hit(request, "portal.login", "user:x").remaining == 9


def test_take_back_with_the_counters_unreachable_is_a_no_op(rf, counters_down):
    usage = ratelimits.hit(rf.post("/"), "pay.page", "ip:x", increment=True)
    assert usage.counted is False
    ratelimits.take_back(usage)  # nothing was counted, nothing raises


def test_a_client_that_waits_retry_after_is_served_again(api):
    """errors.md: on ``rate_limited``, wait ``Retry-After``. django-ratelimit's
    window ends with the last whole second it names, so the counter frees a
    second after it: a ``Retry-After`` counted to it sent a client that waited
    exactly that long into another 429."""
    mid_second = datetime(2026, 12, 7, 12, 0, 0, 400_000, tzinfo=UTC)
    with time_machine.travel(mid_second, tick=False) as clock:
        for _ in range(20):
            assert api.get("/api/v1/fx/rates").status_code == 200
        refused = api.get("/api/v1/fx/rates")
        assert refused.status_code == 429
        wait = int(refused["Retry-After"])
        assert 1 <= wait <= 60
        assert refused["X-RateLimit-Reset"] == refused["Retry-After"]

        clock.shift(wait - 1)  # a second early: still the same window
        assert api.get("/api/v1/fx/rates").status_code == 429
        clock.shift(1)
        served = api.get("/api/v1/fx/rates")

    assert served.status_code == 200, served.content
    assert served["X-RateLimit-Remaining"] == "19"


@pytest.mark.parametrize(
    ("reset", "words"),
    [
        (1, "wait 1 second and"),
        (40, "wait 40 seconds and"),
        (3600, "wait about 60 minutes"),
    ],
)
def test_the_public_429_page_says_the_wait_in_words(rf, reset, words):
    """It said "Please wait 1 seconds", and "3600 seconds" for an hourly limit."""
    from jopay_project.ratelimits import Usage, html_rate_limited

    usage = Usage(limit=10, remaining=0, reset=reset, exceeded=True)
    response = html_rate_limited(rf.get("/pay/x"), usage)

    assert response.status_code == 429
    assert response["Retry-After"] == str(reset)
    assert words in response.content.decode()
