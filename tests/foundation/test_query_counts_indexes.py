"""The portal dashboard reads a tenant's verified requests through an index.

Its 7- and 30-day totals, its chart and its latest payments filter on
``proof_status = 'verified'`` and ``verified_at``: without
``request_tenant_verified`` each of the four read every verified request of
every partner (the ``request_verify_due`` index) and the latest-payments list
sorted the tenant's whole verified history (90 ms apiece at 200 k verified
rows, 0.5-0.9 s for the page, growing with the platform's history). Sequential
scans are switched off here so the tiny test table shows what the planner
picks on a big one.
"""

from __future__ import annotations

import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from jopay_project.tenancy import Tenant
from merchants.portal.dashboard import dashboard_for
from payments.models import PaymentRequest
from tests.plans import plan_nodes
from tests.portal.conftest import make_request, make_verified

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="PostgreSQL's planner"
    ),
]


def _fields():
    return [f for f in PaymentRequest._meta.concrete_fields if not f.primary_key]


def test_the_dashboard_reads_verified_requests_by_tenant_and_verified_at(
    partner, merchant, other_partner
):
    from tests.factories import MerchantFactory

    for days in range(5):
        make_verified(merchant, days_ago=days)
        make_request(merchant)
    # Another partner's history, so that "verified" alone selects most rows,
    # as on a platform with many partners; and statistics, as autovacuum
    # keeps them (rolled back with the test).
    template = make_verified(MerchantFactory(partner=other_partner), days_ago=40)
    PaymentRequest.objects.bulk_create(
        (
            PaymentRequest(
                **{
                    **{f.attname: getattr(template, f.attname) for f in _fields()},
                    "id": uuid.uuid4(),
                    "reference": f"B{i:05d}",
                    "tx_hash": f"0x{i:064x}",
                }
            )
            for i in range(3000)
        ),
        batch_size=500,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE payments_paymentrequest")
    with CaptureQueriesContext(connection) as ctx:
        dashboard_for(Tenant(partner=partner, test_mode=False))
    verified = [
        q["sql"]
        for q in ctx.captured_queries
        if q["sql"].startswith("SELECT")
        and "verified_at" in q["sql"].split("WHERE")[-1]
    ]
    assert len(verified) == 4  # 7 days, 30 days, the chart, the latest payments
    for sql in verified:
        nodes = plan_nodes(sql)
        indexes = {n.get("Index Name") for n in nodes}
        assert "request_tenant_verified" in indexes, sql
        if "LIMIT" in sql:  # the latest payments: in index order, no sort
            assert not [n for n in nodes if "Sort" in n["Node Type"]], sql
