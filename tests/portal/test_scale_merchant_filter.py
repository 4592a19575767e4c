"""The requests page's merchant filter stays bounded for a platform partner.

It listed the tenant's merchants ordered by name: no index serves that order,
so every view of ``/portal/requests/`` read and sorted all of them (109 ms at
100 k merchants) to draw the first 300 of a ``<select>``. It now reads at most
``MERCHANT_CHOICES + 1`` rows in the ``merchant_tenant_keyset`` order: up to
the cap the filter lists them all by name; past it the filter is a text field
taking a merchant id (the merchant's page links there with it, D35).
Sequential scans are switched off so the small test table shows the plan a
big one gets.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from merchants.models import Merchant
from payments.portal import views
from tests.factories import MerchantFactory
from tests.plans import plan_nodes
from tests.portal.conftest import make_request

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="PostgreSQL's planner"
    ),
]


def refs(response) -> list[str]:
    return [row["pr"].reference for row in response.context["rows"]]


def test_the_filter_reads_a_bounded_slice_in_index_order(portal, partner):
    # More merchants than the cap, as a platform partner has, and statistics,
    # as autovacuum keeps them (rolled back with the test).
    template = MerchantFactory(partner=partner)
    fields = [f for f in Merchant._meta.concrete_fields if not f.primary_key]
    Merchant.objects.bulk_create(
        (
            Merchant(
                **{
                    **{f.attname: getattr(template, f.attname) for f in fields},
                    "id": uuid.uuid4(),
                    "business_name": f"Shop {uuid.uuid4().hex}",
                    "wallet_address": f"0x{i + 1:040x}",
                    "created_at": template.created_at - timedelta(seconds=i + 1),
                }
            )
            for i in range(3000)
        ),
        batch_size=500,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE merchants_merchant")
    with CaptureQueriesContext(connection) as ctx:
        response = portal.get("/portal/requests/")
    assert response.status_code == 200
    reads = [
        q["sql"]
        for q in ctx.captured_queries
        if q["sql"].startswith("SELECT")
        and 'FROM "merchants_merchant"' in q["sql"]
        and '"merchants_merchant"."id" =' not in q["sql"]  # one row by key
    ]
    assert reads, "the filter reads the tenant's merchants"
    for sql in reads:
        assert f"LIMIT {views.MERCHANT_CHOICES + 1}" in sql, sql
        nodes = plan_nodes(sql)
        # No Sort: the rows come in index order and the LIMIT stops the scan
        # (ordering by name sorted every merchant of the tenant).
        assert not [n for n in nodes if n["Node Type"] == "Sort"], sql


def test_up_to_the_cap_every_merchant_is_listed_by_name(portal, partner, monkeypatch):
    monkeypatch.setattr(views, "MERCHANT_CHOICES", 3)
    for name in ("beta", "Alpha", "Gamma"):
        MerchantFactory(partner=partner, business_name=name)
    form = portal.get("/portal/requests/").context["form"]
    assert not form.merchant_by_id
    labels = [label for _, label in form.fields["merchant"].choices]
    assert labels == ["Any", "Alpha", "beta", "Gamma"]


def test_past_the_cap_the_filter_takes_a_merchant_id(portal, partner, monkeypatch):
    monkeypatch.setattr(views, "MERCHANT_CHOICES", 2)
    shops = [MerchantFactory(partner=partner, business_name=f"Shop {i}") for i in "ABC"]
    for shop in shops:
        make_request(shop, reference=f"REF{shop.business_name[-1]}01")
    page = portal.get("/portal/requests/")
    assert page.context["form"].merchant_by_id
    html = page.content.decode()
    assert 'name="merchant"' in html
    assert '<select name="merchant"' not in html
    assert "<option" not in html.split('name="merchant"')[1].split("</div>")[0]
    # The id as pasted, in capitals and with spaces around it, filters.
    wanted = shops[0]
    response = portal.get(
        "/portal/requests/", {"merchant": f" {str(wanted.pk).upper()} "}
    )
    assert refs(response) == ["REFA01"]
    assert response.context["form"].merchant_name == "Shop A"
    assert "Shop A" in response.content.decode()


@pytest.mark.parametrize("value", ["not-an-id", "bob"])
def test_past_the_cap_a_foreign_or_bad_id_is_refused_not_applied(
    portal, partner, bob_merchant, monkeypatch, value
):
    monkeypatch.setattr(views, "MERCHANT_CHOICES", 1)
    mine = [MerchantFactory(partner=partner) for _ in range(2)]
    make_request(mine[0], reference="MINE01")
    make_request(bob_merchant, reference="BOB001")
    merchant = str(bob_merchant.pk) if value == "bob" else value
    response = portal.get("/portal/requests/", {"merchant": merchant})
    assert response.status_code == 200
    assert refs(response) == ["MINE01"]
    assert any(m.level_tag == "error" for m in response.context["messages"])
