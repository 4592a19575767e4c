"""The messages after a portal action are announced to screen readers: a
success as a status, a refusal (error, warning) as an alert. Without a role
the line after "Password changed" or a refused search was only found by
reading the page again."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.django_db

MESSAGE = re.compile(r'<ul class="messages">(.*?)</ul>', re.S)


def _messages(html: str) -> str:
    found = MESSAGE.search(html)
    assert found, "no messages list on the page"
    return found.group(1)


def test_an_error_message_is_an_alert(portal):
    html = portal.get("/portal/merchants/", {"q": "x" * 121}).content.decode()
    items = _messages(html)
    assert 'role="alert"' in items
    assert "The search was not valid" in items


def test_a_success_message_is_a_status(portal, partner):
    # A rename that succeeds says so with messages.success.
    from tests.factories import MerchantFactory

    merchant = MerchantFactory(partner=partner)
    response = portal.post(
        f"/portal/merchants/{merchant.pk}/name/",
        {"display_name": "Corner Shop"},
        follow=True,
    )
    items = _messages(response.content.decode())
    assert 'role="status"' in items
    assert 'role="alert"' not in items
