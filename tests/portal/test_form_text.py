"""Portal form posts with unreadable text: 400 at the door, never a 500.

A multipart body may declare ``charset=unicode_escape``; Django then decodes
``\\ud800`` into a lone surrogate that no template can encode and PostgreSQL
cannot store. The portal refuses such a form (and any non-UTF-8 charset, and
control characters) before a view reads it, without echoing the value.
"""

from __future__ import annotations

import pytest
from django.test import Client

from merchants.models import ApiKey, Merchant
from tests.portal.conftest import PASSWORD, make_request

pytestmark = pytest.mark.django_db


def multipart(client, url, fields, charset="unicode_escape"):
    body = b""
    for name, value in fields.items():
        body += (
            b'--B\r\nContent-Disposition: form-data; name="'
            + name.encode()
            + b'"\r\n\r\n'
            + value
            + b"\r\n"
        )
    body += b"--B--\r\n"
    content_type = "multipart/form-data; boundary=B"
    if charset:
        content_type += f"; charset={charset}"
    return client.generic("POST", url, body, content_type=content_type)


def assert_refused(response):
    assert response.status_code == 400, response.status_code
    assert b"\\ud800" not in response.content
    assert "ud800" not in response.content.decode()


def test_api_key_name(portal, partner):
    fields = {"name": b"x\\ud800", "mode": b"live", "access": b"full"}
    assert_refused(multipart(portal, "/portal/api-keys/", fields))
    assert not ApiKey.objects.filter(partner=partner).exists()


def test_merchant_rename(portal, merchant):
    fields = {"display_name": b"x\\ud800"}
    assert_refused(multipart(portal, f"/portal/merchants/{merchant.pk}/name/", fields))
    merchant.refresh_from_db()
    assert "\ud800" not in merchant.display_name


def test_attach(portal, merchant, chain):
    pr = make_request(merchant)
    fields = {"chain_id": b"\\ud800", "tx_hash": b"0x\\ud800"}
    assert_refused(multipart(portal, f"/portal/requests/{pr.pk}/attach/", fields))


def test_fx_form(portal):
    fields = {"currency": b"\\ud800", "rate": b"1\\ud800"}
    assert_refused(multipart(portal, "/portal/settings/fx/", fields))


def test_settings_form(portal):
    fields = {
        "enabled_currencies": b"\\ud800",
        "default_currency": b"\\ud800",
        "min_amount": b"\\ud800",
        "max_amount": b"\\ud800",
        "pos_expiry_seconds": b"\\ud800",
        "invoice_expiry_seconds": b"1",
    }
    assert_refused(multipart(portal, "/portal/settings/", fields))


def test_mode_next(portal):
    fields = {"mode": b"test", "next": b"/portal/\\ud800"}
    assert_refused(multipart(portal, "/portal/mode/", fields))


def test_login_email(alice_user):
    fields = {"email": b"a\\ud800@example.com", "password": b"x"}
    assert_refused(multipart(Client(), "/portal/login/", fields))


def test_other_charset_refused_even_with_plain_text(portal, merchant):
    fields = {"display_name": b"Plain name"}
    response = multipart(
        portal, f"/portal/merchants/{merchant.pk}/name/", fields, charset="latin-1"
    )
    assert response.status_code == 400
    merchant.refresh_from_db()
    assert merchant.display_name != "Plain name"


def test_nul_in_urlencoded_field_refused(portal, merchant):
    response = portal.post(
        f"/portal/merchants/{merchant.pk}/name/", {"display_name": "a\x00b"}
    )
    assert response.status_code == 400


@pytest.mark.parametrize("charset", [None, "utf-8", "UTF8"])
def test_utf8_form_still_works(portal, merchant, charset):
    fields = {"display_name": "Café Ünïcode ✓".encode()}
    response = multipart(
        portal, f"/portal/merchants/{merchant.pk}/name/", fields, charset=charset
    )
    assert response.status_code == 302
    assert Merchant.objects.get(pk=merchant.pk).display_name == "Café Ünïcode ✓"


def test_utf8_login_still_works(alice_user):
    client = Client()
    response = client.post(
        "/portal/login/", {"email": "alice@example.com", "password": PASSWORD}
    )
    assert response.status_code == 302
    assert client.get("/portal/").status_code == 200
