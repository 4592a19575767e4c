"""The dashboard counts a tenant's webhook deliveries without the platform's.

Its "last 7 days" counts filtered deliveries on partner and ``created_at``:
deliveries have no tenant index on time, so the planner intersected the
partner index with ``delivery_created``, reading every partner's deliveries of
those 7 days (78 k index entries for a partner with 119, on 1 M deliveries).
A tenant with few events in the window is now counted from those events
(``event_tenant_keyset``), each probing its delivery to the endpoint (the
``(event, endpoint)`` unique index). Sequential scans are switched off so the
small test tables show what the planner picks on big ones.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from jopay_project.tenancy import Tenant
from merchants.portal import dashboard
from merchants.portal.dashboard import dashboard_for
from tests.factories import PartnerFactory
from tests.plans import POSTGRES_ONLY, index_names, plan_nodes
from webhooks.models import WebhookDelivery, WebhookEvent
from webhooks.selectors import webhook_endpoint_get
from webhooks.services import webhook_endpoint_set, webhook_test_send

pytestmark = [pytest.mark.django_db, POSTGRES_ONLY]


# Delivery and event indexes led by the partner, its endpoint or an event.
TENANT_LED = {
    "delivery_event_endpoint_unique",
    "webhooks_webhookdelivery_endpoint_id_d5bfb5c8",
    "webhooks_webhookdelivery_partner_id_1fbc1f37",
    "webhooks_webhookevent_pkey",
    "event_tenant_keyset",
    "webhooks_webhookevent_partner_id_9ffc8389",
}
# The event indexes led by the partner.
TENANT_EVENT_INDEXES = {
    "event_tenant_keyset",
    "webhooks_webhookevent_partner_id_9ffc8389",
}


def _history(partner, n: int, *, days_ago: int = 0, every: timedelta) -> None:
    """``n`` events of ``partner`` from ``days_ago`` back, each delivered once."""
    endpoint = (
        webhook_endpoint_get(partner=partner)
        or webhook_endpoint_set(
            partner=partner, url="https://127.0.0.1:9/h", enabled=True
        )[0]
    )
    now = timezone.now()
    events = WebhookEvent.objects.bulk_create(
        (
            WebhookEvent(
                id=uuid.uuid4(),
                partner=partner,
                test_mode=False,
                type=WebhookEvent.Type.WEBHOOK_TEST,
                payload={},
                created_at=now - timedelta(days=days_ago) - every * i,
            )
            for i in range(n)
        ),
        batch_size=500,
    )
    WebhookDelivery.objects.bulk_create(
        (
            WebhookDelivery(
                event=event,
                endpoint_id=endpoint.pk,
                partner=partner,
                test_mode=False,
                state=WebhookDelivery.State.DELIVERED,
                created_at=event.created_at,
            )
            for event in events
        ),
        batch_size=500,
    )


def _analysed_dashboard(partner):
    """The partner's live dashboard, built on fresh statistics, and its queries."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE webhooks_webhookdelivery")
        cursor.execute("ANALYZE webhooks_webhookevent")
    with CaptureQueriesContext(connection) as ctx:
        board = dashboard_for(Tenant(partner=partner, test_mode=False))
    return board, ctx


def test_the_delivery_counts_read_the_tenants_window_only(partner, other_partner):
    webhook_endpoint_set(partner=partner, url="https://127.0.0.1:9/h", enabled=True)
    for _ in range(2):
        webhook_test_send(partner=partner)
    # The partner's older history (deliveries are kept 90 days, D36) and the
    # rest of the platform's busy week.
    _history(partner, 1500, days_ago=8, every=timedelta(hours=1))
    _history(other_partner, 4000, every=timedelta(minutes=2))
    board, ctx = _analysed_dashboard(partner)
    assert board.delivery_states == {"pending": 2}
    counts = [
        q["sql"]
        for q in ctx.captured_queries
        if q["sql"].startswith("SELECT")
        and "GROUP BY" in q["sql"]
        and "webhooks_webhookdelivery" in q["sql"]
    ]
    assert len(counts) == 1
    indexes = {n.get("Index Name") for n in plan_nodes(counts[0])}
    # The tenant's events, each probing its delivery by (event, endpoint);
    # no other delivery index (``delivery_created``: the platform's week).
    delivery_indexes = {i for i in indexes if i and "delivery" in i}
    assert delivery_indexes == {"delivery_event_endpoint_unique"}, indexes
    assert indexes & TENANT_EVENT_INDEXES, indexes


@pytest.mark.parametrize("probe_events", [5000, 1])
def test_the_counts_keep_to_the_window_and_the_mode(partner, monkeypatch, probe_events):
    """Deliveries older than 7 days and the other mode's are not counted, by
    event probes or (a busy tenant) by one pass over the week's deliveries."""
    monkeypatch.setattr(dashboard, "PROBE_EVENTS", probe_events)
    webhook_endpoint_set(partner=partner, url="https://127.0.0.1:9/h", enabled=True)
    webhook_test_send(partner=partner)
    webhook_test_send(partner=partner, test_mode=True)
    old = webhook_test_send(partner=partner)
    eight_days_ago = timezone.now() - timedelta(days=8)
    WebhookDelivery.objects.filter(pk=old.pk).update(created_at=eight_days_ago)
    WebhookEvent.objects.filter(pk=old.event_id).update(created_at=eight_days_ago)
    webhook_test_send(partner=partner)
    live = dashboard_for(Tenant(partner=partner, test_mode=False))
    test = dashboard_for(Tenant(partner=partner, test_mode=True))
    assert live.delivery_states == {"pending": 2}
    assert test.delivery_states == {"pending": 1}


def test_no_endpoint_means_no_delivery_reads(partner):
    with CaptureQueriesContext(connection) as ctx:
        board = dashboard_for(Tenant(partner=partner, test_mode=False))
    assert board.delivery_states == {}
    assert board.deliveries == []
    assert not [q for q in ctx.captured_queries if "webhookdelivery" in q["sql"]]


def test_recent_deliveries_never_walk_the_platforms_deliveries(partner, other_partner):
    """A partner quiet for weeks: ``delivery_created`` backwards walked every
    partner's deliveries since its eighth latest (668 k rows, 755 ms)."""
    webhook_endpoint_set(partner=partner, url="https://127.0.0.1:9/h", enabled=True)
    # Its history ended 20 days ago; the platform's busy week came after.
    _history(partner, 2000, days_ago=20, every=timedelta(minutes=5))
    _history(other_partner, 4000, every=timedelta(minutes=2))
    board, ctx = _analysed_dashboard(partner)
    latest = list(
        WebhookDelivery.objects.filter(partner=partner).order_by("-created_at", "-id")[
            :8
        ]
    )
    assert [d.pk for d in board.deliveries] == [d.pk for d in latest]
    reads = [
        q["sql"]
        for q in ctx.captured_queries
        if q["sql"].startswith("SELECT")
        and "webhooks_webhookdelivery" in q["sql"]
        and "GROUP BY" not in q["sql"]
    ]
    assert reads
    for sql in reads:
        indexes = {n.get("Index Name") for n in plan_nodes(sql)}
        # Only indexes led by the tenant, its endpoint or an event: never the
        # platform's deliveries in time order.
        assert indexes - {None} <= TENANT_LED, (sql, indexes)


def test_recent_deliveries_walk_the_tenants_latest_events(partner):
    """The latest events with a delivery were found with ``EXISTS`` over the
    tenant's deliveries to its endpoint, filtered on the delivery's partner and
    mode as well: the planner multiplied the partner's and the endpoint's
    selectivities (one endpoint per partner, so the same rows), expected a few
    hundred deliveries, and started from them: every delivery the tenant ever
    had, then a sort (45 ms at 10 k deliveries of 200 k, growing with the
    tenant's history). The event and the endpoint already fix the tenant, so
    the probe filters on them alone: the tenant's latest events
    (``event_tenant_keyset``), each probing the ``(event, endpoint)`` unique
    index (0.45 ms)."""
    _history(partner, 3000, every=timedelta(minutes=5))
    for _ in range(40):  # a platform of partners, each a small share
        _history(PartnerFactory(), 1000, every=timedelta(minutes=5))
    board, ctx = _analysed_dashboard(partner)
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
    assert index_names(probes[0]) == {
        "event_tenant_keyset",
        "delivery_event_endpoint_unique",
    }
    assert not [n for n in plan_nodes(probes[0]) if "Sort" in n["Node Type"]]
