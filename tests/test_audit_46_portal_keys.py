"""The API keys page as a partner's staff read it: which keys still work."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from merchants.keys import api_key_create
from merchants.models import ApiKey
from payments.services import fx_rate_set_manual
from tests.factories import PartnerUserFactory, UserFactory
from tests.portal.conftest import logged_in


@pytest.fixture
def portal(partner):
    user = UserFactory(username="ops@alice-pay.example", email="ops@alice-pay.example")
    return logged_in(PartnerUserFactory(user=user, partner=partner))


def _row(html: str, prefix: str) -> str:
    rows = re.findall(r"<tr[ >].*?</tr>", html, re.S)
    return next(row for row in rows if prefix in row)


def test_an_expired_key_is_marked_expired_not_offered_like_a_working_one(
    portal, partner
):
    """D8: an expired key answers auth_failed. The list showed it as a working
    key (a Revoke button, no mark, only a date in the Expires column), so staff
    chasing auth_failed errors saw nothing wrong with the key their server
    used."""
    key, _ = api_key_create(
        partner=partner,
        test_mode=False,
        name="nightly export",
        expires_at=timezone.now() + timedelta(minutes=5),
    )
    ApiKey.objects.filter(pk=key.pk).update(
        expires_at=timezone.now() - timedelta(hours=1)
    )
    working, _ = api_key_create(partner=partner, test_mode=False, name="checkout")

    html = portal.get("/portal/api-keys/").content.decode()

    expired_row = _row(html, key.prefix)
    assert 'data-testid="key-expired"' in expired_row
    assert "Revoke" not in expired_row
    working_row = _row(html, working.prefix)
    assert 'data-testid="key-expired"' not in working_row
    assert "Revoke" in working_row


def test_a_rows_buttons_name_the_row_they_act_on(portal, partner):
    """Every key's button was just "Revoke" (and "Change scopes"), every FX
    override's just "Remove": a screen reader listing the page's buttons
    offered three identical "Revoke"s with no way to tell which key each
    would stop."""
    keys = [
        api_key_create(partner=partner, test_mode=False, name=name)[0]
        for name in ("checkout", "reporting")
    ]
    partner.enabled_currencies = ["EUR", "JPY"]
    partner.save()
    fx_rate_set_manual(currency="JPY", rate=Decimal("151.25"), partner=partner)

    html = portal.get("/portal/api-keys/").content.decode()
    for key in keys:
        row = _row(html, key.prefix)
        assert f'aria-label="Revoke {key.prefix}…"' in row
        assert f'aria-label="Change the scopes of {key.prefix}…"' in row
    settings_html = portal.get("/portal/settings/").content.decode()
    assert 'aria-label="Remove your JPY override"' in settings_html
