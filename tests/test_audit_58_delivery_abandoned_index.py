"""The deliveries admin's "abandoned reason" filter reads an index.

Abandoned deliveries are rare (an endpoint gone, disabled, a redirect), so
``?abandoned_reason__exact=…`` found its page by walking ``delivery_created``
over the whole table, and counted by reading all of it: at 200 k deliveries
(0.2 % abandoned) 70 ms for the page and 65 ms for the count, growing with
the outbox. ``delivery_abandoned`` (partial: only abandoned rows) gives both
in index order (0.25 ms each).
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.plans import plan_nodes
from tests.portal.conftest import make_request
from webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="PostgreSQL's planner"
    ),
]


def _outbox(partner, merchant):
    """One delivered and two abandoned deliveries."""
    endpoint = WebhookEndpoint.objects.create(
        partner=partner, url="https://hooks.example.com/jopay", enabled=True
    )
    for i in range(3):
        pr = make_request(merchant)
        event = WebhookEvent.objects.create(
            partner=partner,
            test_mode=False,
            type=WebhookEvent.Type.PROOF_VERIFIED,
            request_id=pr.pk,
            sequence=1,
            payload={},
        )
        WebhookDelivery.objects.create(
            partner=partner,
            test_mode=False,
            event=event,
            endpoint=endpoint,
            state=WebhookDelivery.State.ABANDONED
            if i
            else WebhookDelivery.State.DELIVERED,
            abandoned_reason=WebhookDelivery.AbandonedReason.GONE if i else "",
        )


def _reads(admin_client, url: str, column: str) -> list[str]:
    with CaptureQueriesContext(connection) as ctx:
        page = admin_client.get(url)
    assert page.status_code == 200
    assert page.context["cl"].result_count == 2
    reads = [
        q["sql"]
        for q in ctx.captured_queries
        if q["sql"].startswith("SELECT")
        and 'FROM "webhooks_webhookdelivery"' in q["sql"]
        and column in q["sql"].split("WHERE")[-1]
    ]
    assert len(reads) == 2  # the count and the page
    return reads


def test_the_abandoned_reason_filter_reads_delivery_abandoned(
    admin_client, partner, merchant
):
    _outbox(partner, merchant)
    url = "/admin/webhooks/webhookdelivery/?abandoned_reason__exact=endpoint_gone"
    for sql in _reads(admin_client, url, "abandoned_reason"):
        nodes = plan_nodes(sql)
        assert "delivery_abandoned" in {n.get("Index Name") for n in nodes}, sql


def test_the_state_filter_reads_delivery_unsettled(admin_client, partner, merchant):
    _outbox(partner, merchant)
    url = "/admin/webhooks/webhookdelivery/?state__exact=abandoned"
    for sql in _reads(admin_client, url, '"state"'):
        nodes = plan_nodes(sql)
        assert "delivery_unsettled" in {n.get("Index Name") for n in nodes}, sql
