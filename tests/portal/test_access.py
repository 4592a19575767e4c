"""Who may reach which portal page (D10, D35): login, membership, partner, mode, CSRF.

Every object page and every POST action is called by the owner (works), by a
user of another partner, and by the owner in the other mode; the last two get
the portal's 404 page, byte-for-byte the same as for an id that never existed.
"""

from __future__ import annotations

import re
import uuid

import pytest
from django.test import Client

from merchants.keys import api_key_create
from merchants.portal.access import SESSION_TEST_MODE
from recurring.services import plan_create
from tests.factories import WALLET, MerchantFactory, UserFactory
from tests.portal.conftest import logged_in, make_request
from webhooks.models import WebhookDelivery, WebhookEvent
from webhooks.services import webhook_endpoint_set, webhook_test_send

pytestmark = pytest.mark.django_db

PAGES = [
    "/portal/",
    "/portal/api-keys/",
    "/portal/webhooks/",
    "/portal/settings/",
    "/portal/merchants/",
    "/portal/requests/",
    "/portal/plans/",
]


@pytest.fixture
def alice_objects(partner, merchant, rates):
    """One of each object alice owns in live mode, for the ownership checks."""
    webhook_endpoint_set(partner=partner, url="https://127.0.0.1:9/hook", enabled=True)
    delivery = webhook_test_send(partner=partner, test_mode=False)
    key, _ = api_key_create(partner=partner, test_mode=False, name="k")
    plan = plan_create(
        partner=partner,
        test_mode=False,
        merchant=merchant,
        fiat_amount_int=1500,
        frequency="monthly",
        customer_wallet=WALLET,
    )
    return {
        "merchant": merchant.pk,
        "request": make_request(merchant).pk,
        "key": key.pk,
        "delivery": delivery.pk,
        "event": delivery.event_id,
        "plan": plan.pk,
    }


def object_routes(ids) -> list[tuple[str, str, dict]]:
    """(method, path, data) of every object page and action, for ``ids``."""
    return [
        ("get", f"/portal/merchants/{ids['merchant']}/", {}),
        ("post", f"/portal/merchants/{ids['merchant']}/name/", {"display_name": "X"}),
        ("post", f"/portal/merchants/{ids['merchant']}/disable/", {"disabled": "1"}),
        ("get", f"/portal/requests/{ids['request']}/", {}),
        ("post", f"/portal/requests/{ids['request']}/cancel/", {}),
        ("post", f"/portal/requests/{ids['request']}/reverify/", {}),
        (
            "post",
            f"/portal/requests/{ids['request']}/attach/",
            {"chain_id": "1", "tx_hash": "0x" + "ab" * 32},
        ),
        ("post", f"/portal/api-keys/{ids['key']}/revoke/", {}),
        ("post", f"/portal/webhooks/deliveries/{ids['delivery']}/resend/", {}),
        ("post", f"/portal/webhooks/events/{ids['event']}/send/", {}),
        ("get", f"/portal/plans/{ids['plan']}/", {}),
        ("post", f"/portal/plans/{ids['plan']}/pause/", {}),
        ("post", f"/portal/plans/{ids['plan']}/resume/", {}),
        ("post", f"/portal/plans/{ids['plan']}/cancel/", {}),
    ]


def missing_ids() -> dict:
    return {
        name: uuid.uuid4()
        for name in ("merchant", "request", "key", "delivery", "event", "plan")
    }


@pytest.mark.parametrize("path", PAGES)
def test_anonymous_is_sent_to_login(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"] == f"/portal/login/?next={path}"


def test_anonymous_object_pages_and_actions_are_sent_to_login(client, alice_objects):
    for method, path, data in object_routes(alice_objects):
        response = getattr(client, method)(path, data)
        assert response.status_code == 302, (method, path)
        assert response["Location"].startswith("/portal/login/"), (method, path)


@pytest.mark.parametrize(
    "path", ["/portal/mode/", "/portal/webhooks/test/", "/portal/settings/"]
)
def test_anonymous_posts_are_sent_to_login(client, path):
    response = client.post(path, {})
    assert response.status_code == 302
    assert response["Location"].startswith("/portal/login/")


@pytest.mark.parametrize("path", PAGES)
def test_partner_user_sees_every_page(portal, alice_objects, path):
    assert portal.get(path).status_code == 200


@pytest.mark.parametrize("path", PAGES)
def test_test_mode_pages_render_with_banner(portal_test, path):
    response = portal_test.get(path)
    assert response.status_code == 200
    assert b'data-testid="test-banner"' in response.content


def test_owner_reaches_every_object_page(portal, alice_objects):
    for method, path, _data in object_routes(alice_objects):
        if method == "get":
            assert portal.get(path).status_code == 200, path


def _body(response) -> bytes:
    # Every page embeds a fresh masked CSRF token; the rest must be identical.
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", response.content)


def test_other_partner_and_other_mode_get_the_same_404_as_a_missing_id(
    portal_test, bob_portal, alice_objects
):
    """D10: a foreign or other-mode id answers exactly like an unknown one."""
    owned = object_routes(alice_objects)
    missing = object_routes(missing_ids())
    for stranger in (bob_portal, portal_test):
        for (method, path, data), (_, unknown, _) in zip(owned, missing, strict=True):
            answer = getattr(stranger, method)(path, data)
            baseline = getattr(stranger, method)(unknown, data)
            assert answer.status_code == baseline.status_code == 404, (method, path)
            assert _body(answer) == _body(baseline), (method, path)


def test_foreign_actions_change_nothing(bob_portal, alice_objects, partner):
    for method, path, data in object_routes(alice_objects):
        if method == "post":
            assert bob_portal.post(path, data).status_code == 404, path
    from merchants.models import ApiKey, Merchant
    from payments.models import PaymentRequest
    from recurring.models import Plan

    assert Merchant.objects.get(pk=alice_objects["merchant"]).disabled is False
    assert Merchant.objects.get(pk=alice_objects["merchant"]).display_name != "X"
    assert PaymentRequest.objects.get(pk=alice_objects["request"]).status == "requested"
    assert ApiKey.objects.get(pk=alice_objects["key"]).revoked_at is None
    assert Plan.objects.get(pk=alice_objects["plan"]).status == "active"
    delivery = WebhookDelivery.objects.get(pk=alice_objects["delivery"])
    assert delivery.attempts == 0
    assert WebhookEvent.objects.filter(partner=partner).count() == 1


@pytest.mark.parametrize(
    "path",
    [
        "/portal/merchants/not-a-uuid/",
        "/portal/requests/12345/",
        "/portal/plans/x/",
    ],
)
def test_malformed_ids_are_the_portal_404(portal, path):
    response = portal.get(path)
    assert response.status_code == 404
    assert b"Not found" in response.content


def test_user_without_partner_membership_is_signed_out(db):
    user = UserFactory(username="former@alice.example")
    client = Client()
    client.force_login(user)
    response = client.get("/portal/")
    assert response.status_code == 302
    assert response["Location"].startswith("/portal/login/")
    assert "_auth_user_id" not in client.session


def test_a_staff_account_is_refused_the_portal_but_not_signed_out(db):
    """A GET must not end a session: a link to /portal/ sent to a member of
    staff signed them out of the admin."""
    staff = UserFactory(username="staff@jopay.example", is_staff=True)
    client = Client()
    client.force_login(staff)
    response = client.get("/portal/requests/")
    assert response.status_code == 403
    assert b'data-testid="staff-account"' in response.content
    assert client.session["_auth_user_id"] == str(staff.pk)
    assert client.get("/admin/").status_code == 200


@pytest.mark.parametrize("flag", ["is_staff", "is_superuser"])
def test_a_portal_user_made_staff_loses_the_portal(alice_user, flag):
    """A staff account never acts as a partner (D25: the webhook secret's
    reveal is the partner's alone; D33 refuses staff over SSO): a portal user
    later given staff or superuser status kept both, the admin and the
    partner's portal with its secrets, and could sign in there with a password."""
    setattr(alice_user.user, flag, True)
    alice_user.user.set_password("a-long-portal-password")
    alice_user.user.save()
    client = logged_in(alice_user)
    assert client.get("/portal/webhooks/").status_code == 403
    fresh = Client()
    response = fresh.post(
        "/portal/login/",
        {"email": alice_user.user.username, "password": "a-long-portal-password"},
    )
    assert response.status_code == 400
    assert "_auth_user_id" not in fresh.session


def test_deactivated_partner_loses_portal_access(portal, partner):
    partner.is_active = False
    partner.save()
    response = portal.get("/portal/")
    assert response.status_code == 302
    assert "_auth_user_id" not in portal.session


def test_mode_switch_is_kept_in_the_session_and_scopes_lists(
    portal, partner, merchant, test_merchant
):
    live_pr = make_request(merchant, reference="LIVE01")
    test_pr = make_request(test_merchant, reference="TEST01")
    page = portal.get("/portal/requests/").content.decode()
    assert "LIVE01" in page
    assert "TEST01" not in page
    assert 'data-testid="test-banner"' not in page

    response = portal.post(
        "/portal/mode/", {"mode": "test", "next": "/portal/requests/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/portal/requests/"
    assert portal.session[SESSION_TEST_MODE] is True
    page = portal.get("/portal/requests/").content.decode()
    assert "TEST01" in page
    assert "LIVE01" not in page
    assert "TEST MODE" in page
    assert portal.get(f"/portal/requests/{live_pr.pk}/").status_code == 404
    assert portal.get(f"/portal/requests/{test_pr.pk}/").status_code == 200

    portal.post("/portal/mode/", {"mode": "live"})
    assert portal.session[SESSION_TEST_MODE] is False


def test_mode_switch_ignores_an_offsite_next(portal):
    response = portal.post(
        "/portal/mode/", {"mode": "test", "next": "https://evil.example/"}
    )
    assert response["Location"] == "/portal/"


def test_pages_are_not_cached(portal):
    assert "no-store" in portal.get("/portal/api-keys/")["Cache-Control"]


@pytest.mark.parametrize(
    ("path", "data"),
    [
        ("/portal/api-keys/", {"name": "x", "mode": "live", "access": "full"}),
        ("/portal/mode/", {"mode": "test"}),
        ("/portal/webhooks/url/", {"url": "https://127.0.0.1:9/h"}),
        ("/portal/logout/", {}),
    ],
)
def test_csrf_is_enforced_on_posts(alice_user, partner, path, data):
    client = logged_in(alice_user, enforce_csrf_checks=True)
    response = client.post(path, data)
    assert response.status_code == 403
    assert partner.api_keys.count() == 0


def test_csrf_token_from_the_page_is_accepted(alice_user, partner):
    client = logged_in(alice_user, enforce_csrf_checks=True)
    client.get("/portal/api-keys/")
    token = client.cookies["csrftoken"].value
    response = client.post(
        "/portal/api-keys/",
        {"name": "x", "mode": "live", "access": "full", "csrfmiddlewaretoken": token},
    )
    assert response.status_code == 302
    assert partner.api_keys.count() == 1


def test_a_second_merchant_of_bob_is_invisible_in_alice_lists(portal, other_partner):
    MerchantFactory(partner=other_partner, business_name="Bob Only Shop")
    assert b"Bob Only Shop" not in portal.get("/portal/merchants/").content


@pytest.mark.parametrize(
    "path", ["/portal", "/portal/api-keys", "/portal/settings", "/portal/requests"]
)
def test_bare_urls_redirect_to_the_slash_form(portal, path):
    """D35: every portal URL ends in /; APPEND_SLASH serves the bare form."""
    response = portal.get(path)
    assert response.status_code == 301
    assert response["Location"] == path + "/"


def test_mode_switch_on_a_detail_page_returns_to_its_list(portal, merchant):
    pr = make_request(merchant)
    page = portal.get(f"/portal/requests/{pr.pk}/").content.decode()
    assert 'name="next" value="/portal/requests/"' in page


@pytest.mark.parametrize(
    ("client_name", "on", "off"),
    [("portal", "live", "test"), ("portal_test", "test", "live")],
)
def test_the_mode_switch_says_which_mode_is_on_to_a_screen_reader(
    request, client_name, on, off
):
    """The switch's buttons are toggles: the one not pressed carried no
    ``aria-pressed`` at all, so it was read as a plain button, not as a toggle
    that is off (WAI-ARIA button pattern)."""
    html = request.getfixturevalue(client_name).get("/portal/").content.decode()
    switch = re.search(r'data-testid="mode-switch">.*?</form>', html, re.S)[0]
    pattern = r'<button type="submit" name="mode" value="(\w+)"([^>]*)>'
    buttons = dict(re.findall(pattern, switch))
    assert 'aria-pressed="true"' in buttons[on]
    assert 'aria-pressed="false"' in buttons[off]


def test_switching_mode_on_the_404_page_returns_to_the_address(portal, test_merchant):
    """The 404 page says the row "may belong to the other mode; use the switch
    at the top", but its switch went to the dashboard: a test request's link
    opened in live mode was lost. It now comes back to the address, which the
    page does not print (its body stays the same for foreign and missing ids):
    the switch's form leaves ``next`` empty and the Referer names the page."""
    pr = make_request(test_merchant)
    url = f"/portal/requests/{pr.pk}/"
    page = portal.get(url)
    assert page.status_code == 404
    fields = dict(
        re.findall(
            r'name="(next|mode)" value="([^"]*)"',
            re.search(
                r'data-testid="mode-switch">.*?</form>', page.content.decode(), re.S
            )[0],
        )
    )
    response = portal.post(
        "/portal/mode/",
        {"mode": "test", "next": fields["next"]},
        HTTP_REFERER=f"http://testserver{url}",
    )
    assert response["Location"] == url
    assert portal.get(url).status_code == 200
    # A Referer elsewhere (or an action URL) is not followed.
    for referer in ("https://evil.example/portal/", "http://testserver/portal/mode/"):
        back = portal.post(
            "/portal/mode/", {"mode": "live", "next": ""}, HTTP_REFERER=referer
        )
        assert back["Location"] == "/portal/"
