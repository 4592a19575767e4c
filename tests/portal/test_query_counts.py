"""Pages whose query count must not grow with their rows (and one that must not write).

The partner's admin page ran three queries per portal user and one per FX
override (each inline row's title read related rows one by one); every view
of a pay page ran an UPDATE, also the status polls of a page long opened.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from payments.models import FxRate
from payments.money import SUPPORTED_CURRENCIES
from tests.factories import PartnerUserFactory
from tests.portal.conftest import make_request

pytestmark = pytest.mark.django_db


def queries(client, url: str) -> list[str]:
    client.get(url)  # warm caches (sessions, content types)
    with CaptureQueriesContext(connection) as ctx:
        assert client.get(url).status_code == 200
    return [q["sql"] for q in ctx.captured_queries]


def test_the_partner_admin_page_is_flat_in_its_overrides_and_users(
    admin_client, partner
):
    url = f"/admin/merchants/partner/{partner.pk}/change/"
    PartnerUserFactory(partner=partner)
    FxRate.objects.create(
        currency="EUR", partner=partner, rate=Decimal("0.9"), source="manual"
    )
    one = len(queries(admin_client, url))
    for _ in range(10):
        PartnerUserFactory(partner=partner)
    for currency in SUPPORTED_CURRENCIES[1:11]:
        FxRate.objects.create(
            currency=currency, partner=partner, rate=Decimal("1.5"), source="manual"
        )
    # The raw-id boxes are labelled from the joined users (merchants.admin.partners).
    assert len(queries(admin_client, url)) == one


def test_a_pay_page_view_writes_only_the_first_time(client, merchant):
    pr = make_request(merchant)
    client.get(f"/pay/{pr.pk}")  # requested → opened (D22)
    for url in (f"/pay/{pr.pk}", f"/pay/{pr.pk}/status"):
        assert not [q for q in queries(client, url) if q.startswith("UPDATE")]
