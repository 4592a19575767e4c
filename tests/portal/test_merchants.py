"""``/portal/merchants/``: search, pages, detail, rename, disable/enable and the
onboarding link, all through the merchants selectors and services (D28, D35)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from merchants.models import Merchant
from tests.factories import MerchantFactory
from tests.portal.conftest import make_request

pytestmark = pytest.mark.django_db


def names(response) -> list[str]:
    return [m.name for m in response.context["page"].items]


def codes(response) -> list[str]:
    return [m.extra_tags for m in response.context["messages"] if m.extra_tags]


@pytest.fixture
def shops(partner):
    now = timezone.now()
    return [
        MerchantFactory(
            partner=partner,
            business_name="Blue Bottle",
            email="hi@blue.example",
            created_at=now - timedelta(minutes=3),
        ),
        MerchantFactory(
            partner=partner,
            business_name="Corner Books",
            email="books@corner.example",
            created_at=now - timedelta(minutes=2),
        ),
        MerchantFactory(
            partner=partner,
            business_name="Night Market",
            email="night@market.example",
            created_at=now - timedelta(minutes=1),
        ),
    ]


def test_list_is_newest_first(portal, shops):
    assert names(portal.get("/portal/merchants/")) == [
        "Night Market",
        "Corner Books",
        "Blue Bottle",
    ]


@pytest.mark.parametrize(
    ("q", "expected"),
    [("corner", ["Corner Books"]), ("MARKET.example", ["Night Market"]), ("zzz", [])],
)
def test_search_by_name_or_email(portal, shops, q, expected):
    assert names(portal.get("/portal/merchants/", {"q": q})) == expected


def test_search_by_id(portal, shops):
    assert names(portal.get("/portal/merchants/", {"q": str(shops[0].pk)})) == [
        "Blue Bottle"
    ]


def test_search_by_foreign_id_finds_nothing(portal, bob_merchant):
    assert names(portal.get("/portal/merchants/", {"q": str(bob_merchant.pk)})) == []


def test_pages(portal, partner):
    now = timezone.now()
    for i in range(30):
        MerchantFactory(
            partner=partner,
            business_name=f"Shop {i:02d}",
            created_at=now - timedelta(seconds=i),
        )
    first = portal.get("/portal/merchants/")
    assert len(names(first)) == 25
    cursor = first.context["page"].next_cursor
    second = portal.get("/portal/merchants/", {"cursor": cursor})
    assert names(second) == [f"Shop {i:02d}" for i in range(25, 30)]


def test_detail_shows_wallet_and_recent_requests(portal, merchant):
    make_request(merchant, reference="MREQ01")
    response = portal.get(f"/portal/merchants/{merchant.pk}/")
    assert merchant.wallet_address.encode() in response.content
    assert b"MREQ01" in response.content
    assert response.context["onboarding_link"] is None  # complete


def test_incomplete_merchant_shows_a_live_onboarding_link(portal, partner):
    shop = MerchantFactory(
        partner=partner, wallet_address="", onboarding_status="incomplete"
    )
    first = portal.get(f"/portal/merchants/{shop.pk}/").context["onboarding_link"]
    assert first.url.startswith("http://testserver/onboard/")
    again = portal.get(f"/portal/merchants/{shop.pk}/").context["onboarding_link"]
    assert again.url == first.url  # still valid: the same link (D35)
    Merchant.objects.filter(pk=shop.pk).update(
        onboarding_token_expires_at=timezone.now() - timedelta(seconds=1)
    )
    fresh = portal.get(f"/portal/merchants/{shop.pk}/").context["onboarding_link"]
    assert fresh.url != first.url  # expired: a fresh one (D35)
    assert client_can_open(portal, fresh.url)


def client_can_open(client, url: str) -> bool:
    return client.get(url.replace("http://testserver", "")).status_code == 200


def test_rename(portal, merchant):
    response = portal.post(
        f"/portal/merchants/{merchant.pk}/name/", {"display_name": "Blue"}, follow=True
    )
    merchant.refresh_from_db()
    assert merchant.display_name == "Blue"
    assert codes(response) == []


def test_rename_to_empty_is_refused(portal, merchant):
    before = merchant.display_name
    response = portal.post(
        f"/portal/merchants/{merchant.pk}/name/", {"display_name": ""}, follow=True
    )
    merchant.refresh_from_db()
    assert merchant.display_name == before
    assert any(m.level_tag == "error" for m in response.context["messages"])


def test_disable_and_enable(portal, merchant):
    portal.post(f"/portal/merchants/{merchant.pk}/disable/", {"disabled": "1"})
    merchant.refresh_from_db()
    assert merchant.disabled is True
    assert merchant.is_ready is False  # D28: no new requests
    page = portal.get(f"/portal/merchants/{merchant.pk}/")
    assert b'data-testid="merchant-disabled"' in page.content
    portal.post(f"/portal/merchants/{merchant.pk}/disable/", {"disabled": "0"})
    merchant.refresh_from_db()
    assert merchant.disabled is False


def test_rename_refuses_control_characters_as_the_api_does(portal, merchant):
    before = merchant.display_name
    response = portal.post(
        f"/portal/merchants/{merchant.pk}/name/",
        {"display_name": "A\x07B\x1bC"},
        follow=True,
    )
    merchant.refresh_from_db()
    assert merchant.display_name == before
    assert any(m.level_tag == "error" for m in response.context["messages"])


def test_a_disable_post_without_its_choice_changes_nothing(portal, merchant):
    # A missing field read as "enable": a disabled merchant was re-enabled.
    Merchant.objects.filter(pk=merchant.pk).update(disabled=True)
    response = portal.post(f"/portal/merchants/{merchant.pk}/disable/", {})
    assert response.status_code == 400
    merchant.refresh_from_db()
    assert merchant.disabled is True
