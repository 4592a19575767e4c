"""Rows of every kind for one tenant, added a batch at a time (query-count tests).

``grow(partner, merchant, k)`` adds ``k`` of each: payment requests (verified,
with events, deliveries and attempts), plans with charges, merchants, API keys,
portal users, audit entries and FX overrides, all in the merchant's mode.
Written straight through the ORM: the pages read them, nothing here is under
test.
"""

from __future__ import annotations

import itertools
from decimal import Decimal

from django.utils import timezone

from merchants.models import AuditEntry
from payments.money import SUPPORTED_CURRENCIES
from recurring.models import Charge, Plan
from tests.factories import MerchantFactory, PartnerUserFactory, make_key
from tests.portal.conftest import make_verified
from webhooks.models import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)

CUSTOMER = "0x3c44cdddb6a900fa2b585dd299e03d12fa4293bc"
_numbers = itertools.count(1)


def grow(partner, merchant, k: int) -> None:
    """``k`` more rows of every kind for ``merchant``'s partner and mode."""
    from payments.models import FxRate

    now = timezone.now()
    endpoint, _ = WebhookEndpoint.objects.get_or_create(
        partner=partner,
        defaults={"url": "https://hooks.example.com/jopay", "enabled": True},
    )
    mode = merchant.test_mode
    taken = set(
        FxRate.objects.filter(partner=partner).values_list("currency", flat=True)
    )
    free = [c for c in SUPPORTED_CURRENCIES if c not in taken]
    for i in range(k):
        n = next(_numbers)
        pr = make_verified(merchant)
        event = WebhookEvent.objects.create(
            partner=partner,
            test_mode=mode,
            type=WebhookEvent.Type.PROOF_VERIFIED,
            request_id=pr.pk,
            sequence=1,
            payload={"n": n},
        )
        delivery = WebhookDelivery.objects.create(
            partner=partner,
            test_mode=mode,
            event=event,
            endpoint=endpoint,
            state=WebhookDelivery.State.DELIVERED,
            attempts=2,
            delivered_at=now,
        )
        for number in (1, 2):
            WebhookAttempt.objects.create(
                delivery=delivery,
                number=number,
                started_at=now,
                status_code=500 if number == 1 else 200,
                latency_ms=12,
            )
        plan = Plan.objects.create(
            partner=partner,
            test_mode=mode,
            merchant=MerchantFactory(partner=partner, test_mode=mode),
            fiat_amount_int=2500,
            fiat_code="EUR",
            frequency=Plan.Frequency.MONTHLY,
            customer_wallet=CUSTOMER,
            anchor_at=now,
            next_charge_at=now,
            charges_count=2,
        )
        Charge.objects.create(
            plan=plan, slot=0, due_at=now, status="created", payment_request=pr
        )
        Charge.objects.create(
            plan=plan, slot=1, due_at=now, status="failed", failure_code="fx_stale"
        )
        make_key(partner, test_mode=mode, name=f"key {n}")
        PartnerUserFactory(partner=partner)
        AuditEntry.objects.create(
            partner=partner,
            test_mode=mode,
            actor_kind=AuditEntry.ActorKind.STAFF,
            actor=f"staff{n}",
            action="merchant.updated",
            target=str(merchant.pk),
        )
        if i < len(free):
            FxRate.objects.create(
                currency=free[i],
                partner=partner,
                rate=Decimal("1.5"),
                source="manual",
                pinned=True,
            )
