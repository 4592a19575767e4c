"""/docs/recurring/ says what becomes of a period whose charge failed (D29).

A charge that cannot be created (merchant disabled, no usable rate) is
recorded as failed and the plan moves on to the next slot: that period is
never invoiced, even when the cause is fixed an hour later. The page said a
failure counts towards the pause, but not that its period is lost, so a
partner expected the hourly job to try again and lost the period's revenue
without any webhook telling it.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from payments.models import FxRate
from recurring.services.charging import plans_charge_due
from tests.docs.blocks import PAGES_BY_SLUG, source_text


def recurring_page() -> str:
    return " ".join(source_text(PAGES_BY_SLUG["recurring"]).split())


def test_a_failed_periods_charge_is_not_tried_again(api, merchant, partner):
    FxRate.objects.create(
        currency=partner.default_currency,
        rate=Decimal(1),
        source="test",
        fetched_at=timezone.now(),
    )
    plan = api.post(
        "/api/v1/recurring/plans",
        {
            "merchant_id": str(merchant.pk),
            "fiat_amount_int": 1500,
            "frequency": "weekly",
            "customer_wallet": "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
        },
        format="json",
    ).json()
    merchant.disabled = True
    merchant.save()
    now = timezone.now()
    plans_charge_due(now=now)
    merchant.disabled = False
    merchant.save()
    FxRate.objects.update(fetched_at=now + timedelta(hours=1))

    plans_charge_due(now=now + timedelta(hours=1))

    read = api.get(f"/api/v1/recurring/plans/{plan['plan_id']}").json()
    assert [c["status"] for c in read["recent_charges"]] == ["failed"]
    assert read["charges_count"] == 0
    assert read["next_charge_at"] > (now + timedelta(days=6)).isoformat()
    assert (
        "The period of a failed charge is not invoiced: the next try is the next"
        " slot, also when the cause is fixed within the hour"
    ) in recurring_page()
