"""The production HTTP surface, over a real gunicorn behind a TLS proxy's headers.

``JOPAY_PUBLIC_BASE_URL=https://pay.example.com`` turns on the proxy settings
(settings.py): HTTPS redirect, HSTS, secure cookies. Checked here on the wire:
an unknown Host is refused (never redirected to), a forged X-Forwarded-Host
changes nothing, every link JoPay hands out is built from the base URL (not
from the request), every page showing per-request data is private and
uncached, and the sign-in cookies are Secure and HttpOnly.
"""

from __future__ import annotations

import pytest
import requests
from django.contrib.sessions.backends.db import SessionStore

from merchants.models import Merchant
from tests.factories import MerchantFactory, PartnerUserFactory, UserFactory, make_key
from tests.live import child_env, gunicorn
from tests.portal.conftest import PASSWORD, make_request

pytestmark = pytest.mark.django_db(transaction=True)

BASE = "https://pay.example.com"
PROXY = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}


@pytest.fixture
def site(partner):
    merchant = MerchantFactory(partner=partner)
    incomplete = MerchantFactory(
        partner=partner,
        wallet_address="",
        onboarding_status=Merchant.OnboardingStatus.INCOMPLETE,
    )
    user = UserFactory(username="alice@example.com", email="alice@example.com")
    PartnerUserFactory(user=user, partner=partner)
    env = child_env(
        DEBUG="0",
        JOPAY_PUBLIC_BASE_URL=BASE,
        ALLOWED_HOSTS="pay.example.com,api.example.com",
    )
    with gunicorn(workers=1, env=env) as url:

        def call(method: str, path: str, *, host="pay.example.com", **kw):
            headers = {"Host": host, **PROXY, **kw.pop("headers", {})}
            return requests.request(
                method,
                url + path,
                headers=headers,
                allow_redirects=False,
                timeout=15,
                **kw,
            )

        yield {
            "call": call,
            "pr": make_request(merchant),
            "incomplete": incomplete,
            "key": make_key(partner),
        }


def check_an_unknown_host_is_refused_not_redirected_to(site) -> None:
    call = site["call"]
    for path in (f"/pay/{site['pr'].pk}", "/portal/", "/api/v1/merchants"):
        response = call("GET", path, host="evil.example")
        assert response.status_code == 400, path
        assert "evil.example" not in response.headers.get("Location", "")
    # Plain http is sent to https on our host, never on the one asked for.
    response = call(
        "GET", "/portal/", host="evil.example", headers={"X-Forwarded-Proto": "http"}
    )
    assert response.status_code == 400


def check_links_are_built_from_the_public_base_url_not_the_request(site) -> None:
    call, pr = site["call"], site["pr"]
    auth = {"Authorization": f"Bearer {site['key']}"}
    forged = {
        **auth,
        "X-Forwarded-Host": "evil.example",
        "Forwarded": "host=evil.example",
    }
    got = call(
        "GET", f"/api/v1/requests/{pr.pk}", host="api.example.com", headers=forged
    ).json()
    assert got["pay_page_url"] == f"{BASE}/pay/{pr.pk}"
    merchant = call(
        "GET",
        f"/api/v1/merchants/{site['incomplete'].pk}",
        host="api.example.com",
        headers=forged,
    ).json()
    assert merchant["onboarding_url"].startswith(f"{BASE}/onboard/")
    response = call("GET", "/portal/", headers={"X-Forwarded-Host": "evil.example"})
    assert response.headers["Location"].startswith("/portal/login/")


def check_plain_http_is_redirected_to_https_on_the_public_host(site) -> None:
    response = site["call"](
        "GET", f"/pay/{site['pr'].pk}", headers={"X-Forwarded-Proto": "http"}
    )
    assert response.status_code == 301
    assert response.headers["Location"] == f"{BASE}/pay/{site['pr'].pk}"


def check_pages_with_per_request_data_are_private_and_never_stored(site) -> None:
    call, pr = site["call"], site["pr"]
    for path in (
        f"/pay/{pr.pk}",
        f"/pay/{pr.pk}/status",
        f"/pay/{pr.pk}/receipt",
        "/onboard/" + "x" * 43 + "/",
        "/portal/login/",
    ):
        cache_control = call("GET", path).headers.get("Cache-Control", "")
        assert "no-store" in cache_control, path
        assert "private" in cache_control, path


def check_the_pay_page_carries_the_security_headers(site) -> None:
    headers = site["call"]("GET", f"/pay/{site['pr'].pk}").headers
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "same-origin"


def test_the_public_surface_behind_the_proxy(site):
    """One server for the five checks (each gunicorn start costs seconds)."""
    check_an_unknown_host_is_refused_not_redirected_to(site)
    check_links_are_built_from_the_public_base_url_not_the_request(site)
    check_plain_http_is_redirected_to_https_on_the_public_host(site)
    check_pages_with_per_request_data_are_private_and_never_stored(site)
    check_the_pay_page_carries_the_security_headers(site)


def test_sign_in_cookies_are_secure_and_the_session_is_new(site):
    call = site["call"]
    page = call("GET", "/portal/login/")
    csrf = page.cookies["csrftoken"]
    assert "Secure" in page.headers["Set-Cookie"]
    # A live anonymous session an attacker could have planted (fixation).
    store = SessionStore()
    store["planted"] = True
    store.create()
    planted = store.session_key
    response = call(
        "POST",
        "/portal/login/",
        headers={
            "Cookie": f"csrftoken={csrf}; sessionid={planted}",
            "Referer": f"{BASE}/portal/login/",
        },
        data={
            "email": "alice@example.com",
            "password": PASSWORD,
            "csrfmiddlewaretoken": csrf,
        },
    )
    assert response.status_code == 302
    set_cookie = response.headers["Set-Cookie"]
    session = response.cookies["sessionid"]
    assert session
    assert session != planted
    assert not SessionStore().exists(planted)  # the planted one is gone
    session_part = set_cookie[set_cookie.index("sessionid=") :]
    for flag in ("Secure", "HttpOnly", "SameSite=Lax"):
        assert flag in session_part
