"""The charging job's guarantees over a random life of plans (D29, D35, D14).

Plans of each frequency (anchored on the 29th, 30th or 31st) live through job
runs at irregular times (on time, hours late, days late, a week and more
down), pauses, resumes, cancels, a merchant disabled and enabled again, and an
FX rate that goes stale, comes back and changes. Beside the walk, ``_Rules``
works out from D29 and docs/site/recurring.md alone what each run must do.
After every run:

- the run charged exactly the slots the rules say it must, no more and none
  missing: a plan gets at most one charge (never caught up), for the latest
  slot due, unless that slot came due while the plan was paused, or its
  invoice would already have expired, or it has a charge; a slot owed at a
  pause is charged after the resume; every slot the rules said must be charged
  by now has a Charge row (a failed one counts);
- each charge failed, or not, exactly as the rules say (a disabled merchant,
  then a stale rate, D28, D14), and three failures in a row paused the plan;
- every active plan's next charge lies strictly after the run;
- the plan's status, ``charges_count`` and ``consecutive_failures`` are the
  rules'; ``completed`` exactly when ``max_charges`` is reached;
- each charge request is the plan's fiat amount in invoice mode, priced by the
  D14 floor at the rate it records (then the D15 base), with the D29 expiry.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine

from jopay_project.errors import JoPayError
from payments.models import FxRate, PaymentRequest
from payments.money import fiat_to_usdc_micro
from payments.services.amounts import amount_base
from recurring.models import Charge, Plan
from recurring.schedule import (
    charge_expiry,
    charge_too_late,
    latest_slot_at_or_before,
    slot_at,
)
from recurring.services import plan_cancel, plan_pause, plan_resume, plans_charge_due
from tests.recurring.conftest import tenant_of

GAPS_HOURS = [1, 1, 1, 1, 5, 23, 24, 49, 24 * 8, 24 * 33]
RATES = ["0.92", "0.919999999999999999", "1.5", "150.123456789012345678"]
STALE_AFTER = timedelta(hours=24)  # JOPAY_FX_STALE_AFTER_SECONDS (D14, D36)
ACTIVE, PAUSED = Plan.Status.ACTIVE, Plan.Status.PAUSED
CANCELLED, COMPLETED = Plan.Status.CANCELLED, Plan.Status.COMPLETED


@dataclass
class _Rules:
    """What D29 (and docs/site/recurring.md) say of one plan, step by step.

    ``charges`` maps each slot that must have a Charge row by now to the
    failure code it must carry ("" for a created charge).
    """

    anchor: datetime
    frequency: str
    max_charges: int | None
    status: str = ACTIVE
    pauses: list[list] = field(default_factory=list)  # [start, end or None]
    failures: int = 0
    charges: dict[int, str] = field(default_factory=dict)

    @property
    def created(self) -> int:
        return sum(code == "" for code in self.charges.values())

    def action_allowed(self, action) -> bool:
        # D35: pause only active, resume only paused, cancel unless terminated.
        if action is plan_pause:
            return self.status == ACTIVE
        if action is plan_resume:
            return self.status == PAUSED
        return self.status in (ACTIVE, PAUSED)

    def act(self, action, now: datetime) -> None:
        if action is plan_pause:
            self.status = PAUSED
            self.pauses.append([now, None])
        elif action is plan_resume:
            self.status = ACTIVE
            self.pauses[-1][1] = now
            self.failures = 0  # D29: a resume starts the failure count again
        else:
            self.status = CANCELLED

    def _due_while_paused(self, due_at: datetime) -> bool:
        # D29: slots that came due while paused are skipped, never caught up.
        # One due at (or before) the pause is not: still owed at the resume.
        return any(
            start < due_at and (end is None or due_at <= end)
            for start, end in self.pauses
        )

    def run(self, now: datetime, failure_code: str) -> int | None:
        """The job runs at ``now``: the slot it must charge, if any.

        ``failure_code`` is what a charge would fail with right now ("" when
        it would be created).
        """
        if self.status != ACTIVE:  # paused, cancelled, completed: no charge
            return None
        # D29: only the latest slot due is charged; earlier missed ones are
        # skipped for good, so a slot is only ever charged while it is latest.
        slot = latest_slot_at_or_before(self.anchor, self.frequency, now)
        due_at = slot_at(self.anchor, self.frequency, slot)
        if (
            slot in self.charges
            or self._due_while_paused(due_at)
            # D29: too late once its invoice would have expired had it been
            # made on time (min(7 days, one period) after the slot).
            or charge_too_late(self.frequency, due_at, now)
        ):
            return None
        self.charges[slot] = failure_code
        if failure_code:
            self.failures += 1
            if self.failures >= 3:  # D29: 3 failures in a row pause the plan
                self.status = PAUSED
                self.pauses.append([now, None])
        else:
            self.failures = 0
            if self.max_charges is not None and self.created >= self.max_charges:
                self.status = COMPLETED
        return slot


def _failure_code(merchant, fx: FxRate, now: datetime) -> str:
    """What a charge fails with at ``now``: the merchant is checked before the
    rate (D28 ``merchant_not_ready``, then D14 ``fx_unavailable``, stale after
    24 h); the partner's limits (100 EUR cents, no maximum) always pass."""
    if merchant.disabled:
        return "merchant_not_ready"
    if fx.fetched_at < now - STALE_AFTER:
        return "fx_unavailable"
    return ""


def _slots(plan: Plan) -> dict[int, Charge]:
    return {c.slot: c for c in Charge.objects.filter(plan=plan)}


def _check_charge_request(plan: Plan, charge: Charge) -> None:
    assert charge.due_at == slot_at(plan.anchor_at, plan.frequency, charge.slot)
    request = charge.payment_request
    assert request.payment_mode == PaymentRequest.PaymentMode.INVOICE
    assert (request.fiat_int, request.fiat_code) == (plan.fiat_amount_int, "EUR")
    assert request.metadata["charge_number"] == str(charge.slot + 1)
    exact = fiat_to_usdc_micro(request.fiat_int, request.fiat_code, request.fx_rate)
    assert amount_base(exact) <= request.usdc_micro < amount_base(exact) + 1000
    lifetime = request.expires_at - request.created_at
    assert lifetime == charge_expiry(plan.frequency, charge.due_at)
    assert lifetime <= timedelta(days=7)


def _check_run(plan: Plan, rules: _Rules, before: set[int], now: datetime) -> None:
    charges = _slots(plan)
    new = set(charges) - before
    expected_new = set(rules.charges) - before
    assert new == expected_new, f"charged {new}, the rules say {expected_new}"
    # No missing charge: every slot that must have been charged by now has
    # its Charge row (created or failed), with the outcome the rules give.
    for slot, code in rules.charges.items():
        assert slot in charges, f"slot {slot} never charged"
        assert charges[slot].failure_code == code
        assert charges[slot].status == (
            Charge.Status.FAILED if code else Charge.Status.CREATED
        )
    for slot in new:
        assert charges[slot].due_at <= now
        if not charges[slot].failure_code:
            _check_charge_request(plan, charges[slot])
    assert plan.status == rules.status
    assert plan.charges_count == rules.created
    assert plan.consecutive_failures == rules.failures
    if plan.status == ACTIVE:
        assert plan.next_charge_at > now
    if plan.max_charges is not None:
        assert rules.created <= plan.max_charges


# Seed 96 pauses a daily plan after a 49 h outage and resumes it before the
# next slot: it caught a pause that lost the owed slot (86601c6) when only
# 2 of the first 800 seeds did. Seeds 6 and 10 never create a charge.
@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5, 7, 8, 9, 11, 12, 96])
def test_a_random_life_of_plans_keeps_every_charging_guarantee(
    make_plan, merchant, seed
):
    rnd = random.Random(seed)  # noqa: S311 (a reproducible walk)
    now = datetime(2028, 1, 29 + (seed - 1) % 3, 10, 17, tzinfo=UTC)  # 29th … 31st
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
    rules = {
        plan.pk: _Rules(plan.anchor_at, plan.frequency, plan.max_charges)
        for plan in plans
    }
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
                action = rnd.choice([plan_pause, plan_resume, plan_resume, plan_cancel])
                try:
                    action(tenant=tenant_of(plan), plan_id=plan.pk)
                except JoPayError:
                    done = False
                else:
                    done = True
                assert done == rules[plan.pk].action_allowed(action)
                if done:
                    rules[plan.pk].act(action, now)
            before = {plan.pk: set(_slots(plan)) for plan in plans}
            plans_charge_due()
            code = _failure_code(merchant, fx, now)
            for plan in plans:
                plan.refresh_from_db()
                rules[plan.pk].run(now, code)
                _check_run(plan, rules[plan.pk], before[plan.pk], now)
    # The walk went through what it is meant to: charges and failures.
    statuses = set(Charge.objects.values_list("status", flat=True))
    assert statuses == {Charge.Status.CREATED, Charge.Status.FAILED}
