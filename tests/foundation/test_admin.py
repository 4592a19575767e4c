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
    staff.post(
        "/admin/merchants/apikey/", {"action": "revoke", "_selected_action": [key.pk]}
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
