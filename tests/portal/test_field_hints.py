"""What a screen reader is told about the portal's fields: every
``aria-describedby`` points at text on the page (a dangling id is silence)."""

from __future__ import annotations

import re

import pytest

from tests.factories import MerchantFactory, PartnerUserFactory, UserFactory
from tests.portal.conftest import logged_in

DESCRIBED_BY = re.compile(r'aria-describedby="([^"]+)"')


@pytest.fixture
def portal(partner):
    user = UserFactory(username="ops@alice-pay.example", email="ops@alice-pay.example")
    return logged_in(PartnerUserFactory(user=user, partner=partner))


def _dangling(html: str) -> list[str]:
    ids = set(re.findall(r'\bid="([^"]+)"', html))
    wanted = {i for group in DESCRIBED_BY.findall(html) for i in group.split()}
    return sorted(wanted - ids)


def test_every_field_hint_on_the_portal_pages_is_on_the_page(portal, partner):
    """The settings page's inputs pointed at help texts that had no id: the
    minimum's "Major units of the default currency", the maximum's "Leave
    empty for no maximum", the expiry bounds and the FX rate's format were
    never read out with their fields."""
    shell = MerchantFactory(
        partner=partner, wallet_address="", onboarding_status="incomplete"
    )
    pages = {
        path: portal.get(path).content.decode()
        for path in (
            "/portal/settings/",
            "/portal/api-keys/",
            "/portal/requests/",
            "/portal/merchants/",
            f"/portal/merchants/{shell.pk}/",
            "/portal/password/",
        )
    }
    # A refused save too: the errors join the hints.
    pages["settings refused"] = portal.post(
        "/portal/settings/", {"min_amount": "x", "pos_expiry_seconds": "1"}
    ).content.decode()
    pages["fx refused"] = portal.post(
        "/portal/settings/fx/", {"currency": "EUR", "rate": "x"}
    ).content.decode()
    assert {path: _dangling(html) for path, html in pages.items()} == {
        path: [] for path in pages
    }
