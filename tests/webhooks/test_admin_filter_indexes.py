"""The webhooks admin's filters read an index.

- Deliveries' "abandoned reason": abandoned deliveries are rare (an endpoint
  gone, disabled, a redirect), so ``?abandoned_reason__exact=…`` found its
  page by walking ``delivery_created`` over the whole table, and counted by
  reading all of it: at 200 k deliveries (0.2 % abandoned) 70 ms for the page
  and 65 ms for the count, growing with the outbox. ``delivery_abandoned``
  (partial: only abandoned rows) gives both in index order (0.25 ms each).
- Events' type: a rare type (``request.cancelled``,
  ``payment.proof_mismatch``) was found by walking the created_at index
  backwards over every event, and counted by reading the whole table: at
  200 k events (0.2 % of one type) 36 ms for the page and 58 ms for the
  count. ``event_type`` gives both in the list's order (0.6 ms and 1.9 ms).
"""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.plans import POSTGRES_ONLY, index_names, reads_of
from tests.portal.conftest import make_request
from webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent

pytestmark = [pytest.mark.django_db, POSTGRES_ONLY]


def admin_reads(admin_client, url: str, table: str, where: str, count: int):
    """The SQL of the admin list page's count and page queries on ``table``,
    filtered on ``where``; the page must list ``count`` rows."""
    with CaptureQueriesContext(connection) as ctx:
        page = admin_client.get(url)
    assert page.status_code == 200
    assert page.context["cl"].result_count == count
    reads = reads_of(ctx, table, where)
    assert len(reads) == 2  # the count and the page
    return reads


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


DELIVERIES = "webhooks_webhookdelivery"


def test_the_abandoned_reason_filter_reads_delivery_abandoned(
    admin_client, partner, merchant
):
    _outbox(partner, merchant)
    url = "/admin/webhooks/webhookdelivery/?abandoned_reason__exact=endpoint_gone"
    for sql in admin_reads(admin_client, url, DELIVERIES, "abandoned_reason", 2):
        assert "delivery_abandoned" in index_names(sql), sql


def test_the_state_filter_reads_delivery_unsettled(admin_client, partner, merchant):
    _outbox(partner, merchant)
    url = "/admin/webhooks/webhookdelivery/?state__exact=abandoned"
    for sql in admin_reads(admin_client, url, DELIVERIES, '"state"', 2):
        assert "delivery_unsettled" in index_names(sql), sql


def test_the_type_filter_reads_event_type(admin_client, partner):
    for kind in (WebhookEvent.Type.PROOF_VERIFIED, WebhookEvent.Type.REQUEST_CANCELLED):
        WebhookEvent.objects.create(
            partner=partner, test_mode=False, type=kind, payload={}
        )
    url = "/admin/webhooks/webhookevent/?type__exact=request.cancelled"
    reads = admin_reads(admin_client, url, "webhooks_webhookevent", '"type" =', 1)
    for sql in reads:
        assert "event_type" in index_names(sql), sql
