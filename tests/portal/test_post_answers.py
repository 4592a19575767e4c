"""Pages answered to a POST, and POSTs met without a session (D35).

A page rendered as the answer to a POST lives at the POST-only URL: its
relative links and the mode switch's ``next`` must not point back there (405),
and a reload must not repeat the POST (a second rotation would replace the
secret just copied, D25). An anonymous POST (the session expired) must not
send the user, once signed in, to a POST-only URL either.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
from django.test import Client

from merchants.portal.access import SESSION_TEST_MODE
from tests.factories import MerchantFactory
from tests.portal.conftest import PASSWORD, make_request
from webhooks.models import WebhookEndpoint, WebhookEvent
from webhooks.services import event_emit, webhook_endpoint_set

pytestmark = pytest.mark.django_db

URL = "https://127.0.0.1:9443/jopay/hooks"
REVEALED_COOKIE = "jopay_webhook_secret_pad"  # webhooks/portal/reveal.py


def href(html: str, text: str) -> str:
    match = re.search(r'href="([^"]*)">' + re.escape(text), html)
    assert match, text
    return match.group(1).replace("&amp;", "&")


def mode_next(response) -> str:
    match = re.search(r'name="next" value="([^"]*)"', response.content.decode())
    assert match
    return match.group(1).replace("&amp;", "&")


@pytest.fixture
def enabled(partner):
    endpoint, _ = webhook_endpoint_set(partner=partner, url=URL, enabled=True)
    return endpoint


# --- (a) the "Older events" link on a page answered to a POST -----------------


def test_older_events_link_works_on_a_post_answer(portal, partner, enabled):
    for _ in range(25):
        event_emit(
            partner=partner,
            test_mode=False,
            type=WebhookEvent.Type.WEBHOOK_TEST,
            data={},
        )
    post_url = "/portal/webhooks/url/"
    response = portal.post(post_url, {"url": "not a url"})
    assert response.status_code == 400
    link = urljoin(post_url, href(response.content.decode(), "Older events"))
    assert link.startswith("/portal/webhooks/?cursor=")
    older = portal.get(link)
    assert older.status_code == 200
    assert len(older.context["log"].items) == 5


# --- (b) the mode switch's next on pages answered to a POST -------------------


@pytest.mark.parametrize(
    ("post_url", "data", "page"),
    [
        ("/portal/webhooks/url/", {"url": "not a url"}, "/portal/webhooks/"),
        (
            "/portal/settings/fx/",
            {"currency": "EUR", "rate": "abc"},
            "/portal/settings/",
        ),
        ("/portal/api-keys/", {"name": "", "mode": "bad"}, "/portal/api-keys/"),
    ],
)
def test_mode_switch_from_a_post_answer_returns_to_the_page(
    portal, partner, enabled, post_url, data, page
):
    response = portal.post(post_url, data)
    assert response.status_code == 400
    assert mode_next(response) == page
    switched = portal.post("/portal/mode/", {"mode": "test", "next": page}, follow=True)
    assert switched.status_code == 200
    assert switched.redirect_chain == [(page, 302)]
    assert portal.session[SESSION_TEST_MODE] is True


def test_mode_switch_keeps_a_get_page(portal):
    response = portal.get("/portal/merchants/")
    assert mode_next(response) == "/portal/merchants/"


def test_mode_switch_to_a_post_only_url_lands_on_the_dashboard(portal):
    response = portal.post(
        "/portal/mode/", {"mode": "test", "next": "/portal/webhooks/rotate/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/portal/"


# --- (c) reveal and rotate answer with a redirect; the secret shows once -------


def test_reload_after_rotate_keeps_the_copied_secret(portal, partner, enabled):
    response = portal.post("/portal/webhooks/rotate/")
    assert response.status_code == 302
    assert response["Location"] == "/portal/webhooks/"
    page = portal.get("/portal/webhooks/")
    endpoint = WebhookEndpoint.objects.get(partner=partner)
    copied = page.context["revealed"]["hex"]
    assert copied == endpoint.secret
    assert copied.encode() in page.content
    assert "no-store" in page["Cache-Control"]

    reload = portal.get("/portal/webhooks/")  # the browser's reload is a GET
    assert reload.context["revealed"] is None
    assert copied.encode() not in reload.content
    endpoint.refresh_from_db()
    assert endpoint.secret == copied


def test_reveal_is_shown_once(portal, enabled):
    response = portal.post("/portal/webhooks/secret/")
    assert response.status_code == 302
    # neither half alone holds the secret
    assert enabled.secret not in str(dict(portal.session))
    assert enabled.secret not in response.cookies[REVEALED_COOKIE].value
    page = portal.get("/portal/webhooks/")
    assert page.context["revealed"]["hex"] == enabled.secret
    assert enabled.secret.encode() not in portal.get("/portal/webhooks/").content


def test_secret_without_its_cookie_half_is_not_shown(portal, enabled):
    portal.post("/portal/webhooks/secret/")
    del portal.cookies[REVEALED_COOKIE]
    page = portal.get("/portal/webhooks/")
    assert page.context["revealed"] is None
    assert enabled.secret.encode() not in page.content
    assert any("no longer be shown" in str(m) for m in page.context["messages"])


# --- session expired: an anonymous POST's next --------------------------------


def _login_next(response) -> str:
    assert response.status_code == 302
    return parse_qs(urlsplit(response["Location"]).query)["next"][0]


def test_expired_session_post_returns_to_the_referring_page(alice_user, merchant):
    pr = make_request(merchant)
    client = Client()
    page = f"/portal/requests/{pr.pk}/"
    response = client.post(
        f"/portal/requests/{pr.pk}/cancel/", HTTP_REFERER=f"http://testserver{page}"
    )
    assert _login_next(response) == page
    signed_in = client.post(
        response["Location"], {"email": "alice@example.com", "password": PASSWORD}
    )
    assert signed_in["Location"] == page
    assert client.get(page).status_code == 200
    pr.refresh_from_db()
    assert pr.status != "cancelled"  # the action is not replayed


@pytest.mark.parametrize(
    "referer",
    [
        None,
        "https://evil.example/portal/merchants/",
        "http://testserver/portal/webhooks/rotate/",
        "http://testserver/docs/",
    ],
)
def test_expired_session_post_otherwise_lands_on_the_dashboard(
    alice_user, merchant, referer
):
    pr = make_request(merchant)
    client = Client()
    extra = {"HTTP_REFERER": referer} if referer else {}
    response = client.post(f"/portal/requests/{pr.pk}/cancel/", **extra)
    assert _login_next(response) == "/portal/"
    signed_in = client.post(
        response["Location"], {"email": "alice@example.com", "password": PASSWORD}
    )
    assert signed_in["Location"] == "/portal/"


def test_expired_session_get_keeps_its_url(alice_user):
    response = Client().get("/portal/merchants/?q=shop")
    assert _login_next(response) == "/portal/merchants/?q=shop"


# --- invalid merchant search --------------------------------------------------


@pytest.fixture
def shops(partner):
    return [
        MerchantFactory(partner=partner, test_mode=False, business_name="Shop One"),
        MerchantFactory(partner=partner, test_mode=False, business_name="Shop Two"),
    ]


@pytest.mark.parametrize("q", ["z" * 121, "Shop\x00One"])
def test_invalid_search_lists_nothing_and_says_so(portal, shops, q):
    response = portal.get("/portal/merchants/", {"q": q})
    assert response.status_code == 200
    assert response.context["page"].items == []
    assert any("not valid" in str(m) for m in response.context["messages"])
    assert b"Shop One" not in response.content


def test_valid_search_still_filters(portal, shops):
    response = portal.get("/portal/merchants/", {"q": "one"})
    assert [m.business_name for m in response.context["page"].items] == ["Shop One"]
    assert not list(response.context["messages"])
