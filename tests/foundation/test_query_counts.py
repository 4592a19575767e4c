"""No page's query count grows with the rows it shows (no N+1).

Every API list and detail, every portal page, the pay page, every admin
changelist and the change forms with inlines are read with one row of each
kind, then again after eight more rows of every kind (requests with events,
deliveries and attempts, plans with charges, merchants, keys, portal users,
audit entries, FX overrides; tests/foundation/query_world.py) and after the
objects shown on detail pages gained nested rows: the counts must be equal.

The partner's admin page ran one query per portal user (the raw-id box looked
each user up again for its label); tests/portal/test_query_counts.py tolerated
that.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from payments.models import FxRate, PaymentRequest
from recurring.models import Charge, Plan
from tests.factories import PartnerUserFactory
from tests.foundation.query_world import grow
from tests.portal.conftest import logged_in
from webhooks.models import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)

pytestmark = pytest.mark.django_db


def count(client, url: str) -> int:
    client.get(url)  # warm caches (sessions, content types, rate windows)
    with CaptureQueriesContext(connection) as ctx:
        status = client.get(url).status_code
    assert status == 200, url
    return len(ctx)


def nest(pr, plan, delivery, n: int) -> None:
    """``n`` more charges on ``plan``, attempts on ``delivery``, events on ``pr``."""
    now = timezone.now()
    endpoint = WebhookEndpoint.objects.get(partner=pr.partner)
    start = Charge.objects.filter(plan=plan).count()
    attempts = WebhookAttempt.objects.filter(delivery=delivery).count()
    events = WebhookEvent.objects.filter(request_id=pr.pk).count()
    for i in range(n):
        Charge.objects.create(
            plan=plan, slot=start + i, due_at=now, status="failed", failure_code="x"
        )
        WebhookAttempt.objects.create(
            delivery=delivery, number=attempts + i + 1, started_at=now, status_code=500
        )
        event = WebhookEvent.objects.create(
            partner=pr.partner,
            test_mode=pr.test_mode,
            type=WebhookEvent.Type.PROOF_ATTACHED,
            request_id=pr.pk,
            sequence=events + i + 1,
            payload={},
        )
        resent = WebhookDelivery.objects.create(
            partner=pr.partner,
            test_mode=pr.test_mode,
            event=event,
            endpoint=endpoint,
            state=WebhookDelivery.State.FAILED,
            attempts=1,
        )
        WebhookAttempt.objects.create(
            delivery=resent, number=1, started_at=now, status_code=500
        )


def test_no_page_reads_more_queries_for_more_rows(
    admin_client, partner, merchant, client_for
):
    for code, rate in {"EUR": "0.92", "USD": "1", "JPY": "150"}.items():
        FxRate.objects.create(
            currency=code, rate=Decimal(rate), source="feed", fetched_at=timezone.now()
        )
    grow(partner, merchant, 1)
    portal = logged_in(PartnerUserFactory(partner=partner))
    api = client_for(partner)
    pr = PaymentRequest.objects.get(merchant=merchant)
    plan = Plan.objects.get()
    delivery = WebhookDelivery.objects.get()
    event = WebhookEvent.objects.get()
    endpoint = WebhookEndpoint.objects.get()
    pages = [
        (admin_client, f"/admin/{ma.opts.app_label}/{ma.opts.model_name}/")
        for ma in admin.site._registry.values()
    ]
    pages += [
        (admin_client, f"/admin/{path}/change/")
        for path in (
            f"payments/paymentrequest/{pr.pk}",
            f"recurring/plan/{plan.pk}",
            f"webhooks/webhookdelivery/{delivery.pk}",
            f"webhooks/webhookevent/{event.pk}",
            f"webhooks/webhookendpoint/{endpoint.pk}",
            f"merchants/partner/{partner.pk}",
            f"merchants/merchant/{merchant.pk}",
        )
    ]
    pages += [(admin_client, "/admin/payments/paymentrequest/?q=alice-pay")]
    pages += [
        (portal, f"/portal/{path}")
        for path in (
            "",
            "api-keys/",
            "settings/",
            "activity/",
            "merchants/",
            "requests/",
            "plans/",
            "webhooks/",
            f"merchants/{merchant.pk}/",
            f"requests/{pr.pk}/",
            f"plans/{plan.pk}/",
        )
    ]
    pages += [
        (api, f"/api/v1/{path}")
        for path in (
            "merchants",
            "requests",
            "events",
            "recurring/plans",
            "fx/rates",
            "webhooks/endpoint",
            f"merchants/{merchant.pk}",
            f"requests/{pr.pk}",
            f"recurring/plans/{plan.pk}",
            f"events?request_id={pr.pk}",
        )
    ]
    pages += [
        (admin_client, f"/pay/{pr.pk}{suffix}")
        for suffix in ("", "/status", "/receipt")
    ]
    before = {url: count(client, url) for client, url in pages}

    grow(partner, merchant, 8)
    nest(pr, plan, delivery, 8)

    after = {url: count(client, url) for client, url in pages}
    assert {u: (before[u], n) for u, n in after.items() if n != before[u]} == {}


def test_the_partner_page_still_labels_each_portal_user(admin_client, partner):
    users = [PartnerUserFactory(partner=partner) for _ in range(2)]
    page = admin_client.get(f"/admin/merchants/partner/{partner.pk}/change/")
    html = page.content.decode()
    for portal_user in users:
        user = portal_user.user
        assert f'href="/admin/auth/user/{user.pk}/change/">{user}</a>' in html
