"""A change form posted without its page's fingerprint is refused (stale_edits).

The chain, FX rate and user pages carry a hidden ``loaded_as`` (the row as
the page drew it) and refuse a save drawn from an older row. They checked it
only when it was posted: a hand-made POST (a script, an old tab, a page
saved before the field existed) put whatever it sent over the row, the very
overwrite the guard is for. It is refused like a stale page now; add forms
have no row to guard and work as before.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.auth.models import User

from payments.models import Chain, FxRate
from tests.foundation.test_admin_privileges import form_data as user_form
from tests.portal.test_admin_audit_trail import form_data

pytestmark = pytest.mark.django_db

CHAIN_URL = "/admin/payments/chain/"
FX_URL = "/admin/payments/fxrate/"
USER_URL = "/admin/auth/user/"


@pytest.fixture
def rate() -> FxRate:
    return FxRate.objects.create(
        currency="EUR", rate=Decimal("0.92"), source="feed:test", pinned=False
    )


@pytest.fixture
def colleague() -> User:
    return User.objects.create_user("ops@jopay.example", email="ops@jopay.example")


def _refused(response) -> None:
    assert response.status_code == 200  # the form again, saying why
    errors = response.context["adminform"].form.non_field_errors().as_data()
    assert [error.code for error in errors] == ["stale"]
    assert "changed elsewhere" in response.content.decode()


def _without_fingerprint(page) -> dict:
    data = form_data(page)
    del data["loaded_as"]
    return data


def test_a_chain_saved_without_the_pages_fingerprint_is_refused(admin_client, chain):
    url = f"{CHAIN_URL}{chain.pk}/change/"
    data = _without_fingerprint(admin_client.get(url))
    data["rpc_urls_text"] = "https://rpc.example/old"

    _refused(admin_client.post(url, data))

    chain.refresh_from_db()
    assert chain.rpc_urls == ["https://sepolia.base.org"]
    # As the page posts it, the same change is saved.
    data = form_data(admin_client.get(url))
    data["rpc_urls_text"] = "https://rpc.example/new"
    assert admin_client.post(url, data).status_code == 302
    chain.refresh_from_db()
    assert chain.rpc_urls == ["https://rpc.example/new"]


def test_an_fx_rate_saved_without_the_pages_fingerprint_is_refused(admin_client, rate):
    url = f"{FX_URL}{rate.pk}/change/"
    data = _without_fingerprint(admin_client.get(url))

    _refused(admin_client.post(url, {**data, "rate": "0.90"}))

    rate.refresh_from_db()
    assert (rate.rate, rate.source, rate.pinned) == (
        Decimal("0.92"),
        "feed:test",
        False,
    )
    data = form_data(admin_client.get(url))
    assert admin_client.post(url, {**data, "rate": "0.93"}).status_code == 302
    rate.refresh_from_db()
    assert (rate.rate, rate.pinned) == (Decimal("0.93"), True)


def test_a_user_saved_without_the_pages_fingerprint_is_refused(admin_client, colleague):
    url = f"{USER_URL}{colleague.pk}/change/"
    data = user_form(admin_client, colleague, is_active="", loaded_as="")
    assert "loaded_as" not in data

    _refused(admin_client.post(url, data))

    colleague.refresh_from_db()
    assert colleague.is_active is True
    data = user_form(admin_client, colleague, is_active="")  # as the page posts it
    assert admin_client.post(url, data).status_code == 302
    colleague.refresh_from_db()
    assert colleague.is_active is False


def test_the_add_forms_need_no_fingerprint(admin_client):
    chain = {
        "chain_id": "84533",
        "name": "Another testnet",
        "usdc_address": "0x036CbD53842c5426634e7929541eC2318f3dCF7e",
        "decimals": "6",
        "confirmations": "3",
        "kind": "testnet",
        "rpc_urls_text": "https://rpc.example/another",
        "public_rpc_url": "",
    }
    assert admin_client.post(f"{CHAIN_URL}add/", chain).status_code == 302
    assert Chain.objects.filter(pk=84533).exists()

    rate = {"currency": "USD", "rate": "1", "partner": ""}
    assert admin_client.post(f"{FX_URL}add/", rate).status_code == 302
    assert FxRate.objects.get(currency="USD").rate == Decimal("1")

    user = {
        "username": "new@jopay.example",
        "usable_password": "false",
        "password1": "",
        "password2": "",
    }
    assert admin_client.post(f"{USER_URL}add/", user).status_code == 302
    assert User.objects.filter(username="new@jopay.example").exists()
