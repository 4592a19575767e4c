"""The dashboard's recent deliveries do not read the tenant's whole history.

The latest events with a delivery were found with ``EXISTS`` over the
tenant's deliveries to its endpoint, filtered on the delivery's partner and
mode as well: the planner multiplied the partner's and the endpoint's
selectivities (one endpoint per partner, so the two are the same rows),
expected a few hundred deliveries, and started from them: every delivery the
tenant ever had, then a sort (45 ms at 10 k deliveries of 200 k, growing
with the tenant's history). The event and the endpoint already fix the
tenant, so the probe now filters on them alone: the tenant's latest events
(``event_tenant_keyset``), each probing the ``(event, endpoint)`` unique
index (0.45 ms). Sequential scans are switched off so the small test tables
show what the planner picks on big ones.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from jopay_project.tenancy import Tenant
from merchants.portal.dashboard import dashboard_for
from tests.factories import PartnerFactory
from tests.plans import plan_nodes
from tests.portal.test_scale_dashboard_deliveries import _history
from webhooks.models import WebhookDelivery

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="PostgreSQL's planner"
    ),
]


def test_recent_deliveries_walk_the_tenants_latest_events(partner):
    _history(partner, 3000, every=timedelta(minutes=5))
    for _ in range(40):  # a platform of partners, each a small share
        _history(PartnerFactory(), 1000, every=timedelta(minutes=5))
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE webhooks_webhookdelivery")
        cursor.execute("ANALYZE webhooks_webhookevent")
    with CaptureQueriesContext(connection) as ctx:
        board = dashboard_for(Tenant(partner=partner, test_mode=False))
    latest = WebhookDelivery.objects.filter(partner=partner).order_by(
        "-created_at", "-id"
    )[:8]
    assert [d.pk for d in board.deliveries] == [d.pk for d in latest]
    probes = [
        q["sql"]
        for q in ctx.captured_queries
        if q["sql"].startswith('SELECT "webhooks_webhookevent"."id"')
        and "EXISTS" in q["sql"]
    ]
    assert len(probes) == 1
    nodes = plan_nodes(probes[0])
    indexes = {n.get("Index Name") for n in nodes} - {None}
    assert indexes == {"event_tenant_keyset", "delivery_event_endpoint_unique"}
    assert not [n for n in nodes if "Sort" in n["Node Type"]]
