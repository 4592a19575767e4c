"""Staff admin for partners and keys: a key is shown once, never its secret (D6)."""

import re

import pytest
from django.contrib.auth import get_user_model

from merchants.keys import api_key_authenticate
from merchants.models import ApiKey
from payments.services import fx_rate_set_manual


@pytest.fixture
def staff(client, db):
    user = get_user_model().objects.create_superuser(
        "staff", "staff@jopay.dev", "pw-long-enough"
    )
    client.force_login(user)
    return client


def test_creating_a_key_in_admin_shows_it_once(staff, partner):
    response = staff.post(
        "/admin/merchants/apikey/add/",
        {
            "partner": partner.pk,
            "name": "from admin",
            "mode": "test",
            "scope_list": ["requests:read"],
            "expires_at": "",
        },
        follow=True,
    )
    assert response.status_code == 200
    shown = re.findall(r"jo_test_[A-Za-z0-9]{32}", response.content.decode())
    assert len(shown) == 1
    key = api_key_authenticate(shown[0])
    assert (key.partner, key.scopes, key.name) == (
        partner,
        ["requests:read"],
        "from admin",
    )
    page = staff.get(f"/admin/merchants/apikey/{key.pk}/change/").content.decode()
    assert shown[0] not in page
    assert key.key_hash not in page
    assert key.prefix in page


def test_key_list_never_shows_secrets_and_revoke_action_works(staff, partner):
    key = ApiKey.objects.get(
        pk=api_key_authenticate(
            __import__("tests.factories", fromlist=["make_key"]).make_key(partner)
        ).pk
    )
    listing = staff.get("/admin/merchants/apikey/").content.decode()
    assert key.key_hash not in listing
    staff.post(  # as the confirmation page's button posts it (confirm_first)
        "/admin/merchants/apikey/",
        {"action": "revoke", "_selected_action": [key.pk], "post": "yes"},
    )
    key.refresh_from_db()
    assert key.revoked_at is not None


def test_partner_page_lists_fx_overrides_and_keeps_the_slug(staff, partner):
    from decimal import Decimal

    fx_rate_set_manual(currency="EUR", rate=Decimal("0.93"), partner=partner)
    page = staff.get(f"/admin/merchants/partner/{partner.pk}/change/").content.decode()
    assert "FX overrides" in page
    assert "0.93" in page
    assert 'name="slug"' not in page  # spec §1.2: immutable after creation


def _cookie_texts(response) -> list[str]:
    """Every cookie value, and the messages the (signed, maybe compressed)
    message cookie carries, decoded."""
    from django.contrib.messages.storage.cookie import CookieStorage
    from django.test import RequestFactory

    texts = [morsel.value for morsel in response.cookies.values()]
    if "messages" in response.cookies:
        storage = CookieStorage(RequestFactory().get("/"))
        texts += [str(m) for m in storage._decode(response.cookies["messages"].value)]
    return texts


def test_a_key_created_in_admin_travels_in_no_cookie_or_session(staff, partner):
    """D6: shown once, only the hash stored. The key used to go into a message,
    and the message store is a cookie: the full key in Set-Cookie, sent back on
    every request until shown. Now it is on the page the creating POST
    redirects to, which no cache may keep; until then it is parked in two
    halves, neither of which is the key (merchants.portal.sealing)."""
    from django.contrib.admin.models import LogEntry

    created = staff.post(
        "/admin/merchants/apikey/add/",
        {"partner": partner.pk, "name": "ops", "mode": "live", "expires_at": ""},
    )

    full_key = re.compile(r"jo_live_[A-Za-z0-9]{32}")
    assert created.status_code == 302
    assert not full_key.search(created["Location"])
    assert not any(full_key.search(t) for t in _cookie_texts(created))
    assert not full_key.search(str(dict(staff.session.items())))
    response = staff.get(created["Location"])
    assert response.status_code == 200
    shown = full_key.findall(response.content.decode())
    assert len(shown) == 1
    assert "no-store" in response["Cache-Control"]
    assert not any(full_key.search(t) for t in _cookie_texts(response))
    # Nothing parked for a later page either.
    later = staff.get("/admin/merchants/apikey/")
    assert not full_key.search(later.content.decode())
    assert not any(full_key.search(t) for t in _cookie_texts(later))
    # The page and the audit entry name the key by its real prefix (D6).
    key = api_key_authenticate(shown[0])
    assert f"“{key.prefix}… (ops)” for {partner.slug} was added" in (
        response.content.decode()
    )
    assert LogEntry.objects.get(object_id=str(key.pk)).object_repr == str(key)
