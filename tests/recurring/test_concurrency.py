"""Two workers at once (D29, D17): every slot is charged once, every key makes one plan.

Real threads, each with its own PostgreSQL connection, in committed transactions.
"""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection

from payments.models import FxRate, PaymentRequest
from recurring.models import Charge, Plan
from recurring.services import plan_create_or_replay, plans_charge_due
from tests.factories import MerchantFactory, PartnerFactory
from tests.recurring.conftest import CUSTOMER
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db(transaction=True)


def run_in_threads(target, count: int = 2) -> list:
    """Start ``count`` threads on ``target`` together; return their results."""
    barrier = threading.Barrier(count)
    results: list = [None] * count
    errors: list[BaseException] = []

    def work(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            results[index] = target()
        except BaseException as exc:  # surfaced in the main thread below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    return results


def test_two_concurrent_runs_charge_each_plan_once():
    FxRate.objects.create(
        currency="EUR", rate=Decimal("0.92"), source="manual", pinned=True
    )
    partner = PartnerFactory()
    merchants = [MerchantFactory(partner=partner) for _ in range(3)]
    plans = [
        plan_create_or_replay(
            partner=partner,
            test_mode=False,
            merchant=merchants[i % 3],
            fiat_amount_int=1000 + i,
            frequency="daily",
            customer_wallet=CUSTOMER,
        ).plan
        for i in range(24)
    ]

    summaries = run_in_threads(lambda: plans_charge_due(batch_size=5), count=2)

    assert sum(s.charged for s in summaries) == 24
    assert sum(s.failed for s in summaries) == 0
    assert Charge.objects.count() == 24
    assert PaymentRequest.objects.count() == 24
    assert WebhookEvent.objects.filter(type="recurring.charge_created").count() == 24
    for plan in plans:
        plan.refresh_from_db()
        assert plan.charges_count == 1
        assert plan.charges.get().slot == 0
    # D15 still holds under the race: every request of the shared wallet is unique.
    amounts = list(PaymentRequest.objects.values_list("usdc_micro", flat=True))
    assert len(set(amounts)) == 24


def test_concurrent_creates_with_one_idempotency_key_make_one_plan():
    partner = PartnerFactory()
    merchant = MerchantFactory(partner=partner)

    def create():
        return plan_create_or_replay(
            partner=partner,
            test_mode=False,
            merchant=merchant,
            fiat_amount_int=2500,
            frequency="weekly",
            customer_wallet=CUSTOMER,
            idempotency_key="idem-" + "x" * 40,
        )

    results = run_in_threads(create, count=4)

    assert Plan.objects.count() == 1
    assert {r.plan.pk for r in results} == {Plan.objects.get().pk}
    assert sorted(r.replayed for r in results) == [False, True, True, True]
