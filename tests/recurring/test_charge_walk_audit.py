"""The charging job's guarantees over a random life of plans (D29, D35, D14).

Plans of each frequency (anchored on the 29th, 30th or 31st) live through job
runs at irregular times (on time, hours late, days late, a week and more
down), pauses, resumes, cancels, a merchant disabled and enabled again, and an
FX rate that goes stale, comes back and changes. After every run:

- a plan got at most one charge (never caught up), for the latest slot due at
  the run, due at or before it, and never for a slot that came due while the
  plan was paused;
- every active plan's next charge lies strictly after the run;
- ``charges_count`` counts the created charges; ``completed`` exactly when it
  reaches ``max_charges``; a failed charge carries the request's error code;
- each charge request is the plan's fiat amount in invoice mode, priced by the
  D14 floor at the rate it records (then the D15 base), with the D29 expiry.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine

from jopay_project.errors import JoPayError
from payments.models import FxRate, PaymentRequest
from payments.money import fiat_to_usdc_micro
from payments.services.amounts import amount_base
from recurring.models import Charge, Plan
from recurring.schedule import charge_expiry, latest_slot_at_or_before, slot_at
from recurring.services import plan_cancel, plan_pause, plan_resume, plans_charge_due
from tests.recurring.conftest import tenant_of

GAPS_HOURS = [1, 1, 1, 1, 5, 23, 24, 49, 24 * 8, 24 * 33]
RATES = ["0.92", "0.919999999999999999", "1.5", "150.123456789012345678"]
FAILURE_CODES = {"fx_unavailable", "merchant_not_ready"}


def _slots(plan: Plan) -> dict[int, Charge]:
    return {c.slot: c for c in Charge.objects.filter(plan=plan)}


def _check_new_charge(plan: Plan, charge: Charge, now: datetime, paused: list) -> None:
    assert charge.due_at == slot_at(plan.anchor_at, plan.frequency, charge.slot)
    assert charge.due_at <= now
    # The latest slot due, never an earlier one (missed slots are skipped).
    assert charge.slot == latest_slot_at_or_before(plan.anchor_at, plan.frequency, now)
    for start, end in paused:
        assert not start < charge.due_at <= end, "charged a slot due while paused"
    if charge.status == Charge.Status.FAILED:
        assert charge.failure_code in FAILURE_CODES
        return
    request = charge.payment_request
    assert request.payment_mode == PaymentRequest.PaymentMode.INVOICE
    assert (request.fiat_int, request.fiat_code) == (plan.fiat_amount_int, "EUR")
    assert request.metadata["charge_number"] == str(charge.slot + 1)
    exact = fiat_to_usdc_micro(request.fiat_int, request.fiat_code, request.fx_rate)
    assert amount_base(exact) <= request.usdc_micro < amount_base(exact) + 1000
    lifetime = request.expires_at - request.created_at
    assert lifetime == charge_expiry(plan.frequency, charge.due_at)
    assert lifetime <= timedelta(days=7)


@pytest.mark.parametrize("seed", [1, 3])
def test_a_random_life_of_plans_keeps_every_charging_guarantee(
    make_plan, merchant, seed
):
    rnd = random.Random(seed)  # noqa: S311 (a reproducible walk)
    now = datetime(2028, 1, 28 + seed, 10, 17, tzinfo=UTC)  # 29th, 30th, 31st
    with time_machine.travel(now, tick=False):
        fx = FxRate.objects.create(
            currency="EUR", rate=Decimal("0.92"), source="json:feed", fetched_at=now
        )
        plans = [
            make_plan(
                frequency=frequency,
                max_charges=rnd.choice([None, 2, 5]),
                fiat_amount_int=rnd.randint(100, 2_147_483_647),
            )
            for frequency in ("daily", "weekly", "monthly", "monthly")
        ]
    paused: dict = {plan.pk: [] for plan in plans}
    for _ in range(40):
        now += timedelta(hours=rnd.choice(GAPS_HOURS))
        with time_machine.travel(now, tick=False):
            roll = rnd.random()
            if roll < 0.15:  # a refresh, or none for more than 24 h (stale)
                fx.rate = Decimal(rnd.choice(RATES))
                fx.fetched_at = now - timedelta(hours=rnd.choice([0, 2, 25]))
                fx.save()
            elif roll < 0.22:
                merchant.disabled = not merchant.disabled
                merchant.save()
            elif roll < 0.45:
                plan = rnd.choice(plans)
                plan.refresh_from_db()
                action = rnd.choice([plan_pause, plan_resume, plan_resume, plan_cancel])
                paused_at = plan.paused_at
                try:
                    action(tenant=tenant_of(plan), plan_id=plan.pk)
                except JoPayError:
                    pass
                else:
                    if action is plan_resume:
                        paused[plan.pk].append((paused_at, now))
            before = {plan.pk: _slots(plan) for plan in plans}
            plans_charge_due()
            for plan in plans:
                plan.refresh_from_db()
                charges = _slots(plan)
                new = set(charges) - set(before[plan.pk])
                assert len(new) <= 1, "more than one charge in one run"
                for slot in new:
                    _check_new_charge(plan, charges[slot], now, paused[plan.pk])
                created = sum(
                    c.status == Charge.Status.CREATED for c in charges.values()
                )
                assert plan.charges_count == created
                if plan.status == Plan.Status.ACTIVE:
                    assert plan.next_charge_at > now
                if plan.max_charges is not None:
                    assert created <= plan.max_charges
                    done = plan.status == Plan.Status.COMPLETED
                    assert done == (created == plan.max_charges)
    # The walk went through what it is meant to: charges and failures.
    statuses = set(Charge.objects.values_list("status", flat=True))
    assert statuses == {Charge.Status.CREATED, Charge.Status.FAILED}
