"""Which slot a resume charges next (D29: missed slots are skipped, never caught up).

A slot a pause found due and uncharged stays owed (``Plan.owed_due_at``); a slot
that came due while paused is skipped, also after a later pause and resume.
"""

from __future__ import annotations

import importlib
from datetime import timedelta

import time_machine
from django.apps import apps

from recurring.models import Plan
from recurring.services import plan_pause, plan_resume, plans_charge_due
from tests.recurring.conftest import tenant_of
from tests.recurring.test_charging import run_at, utc

START = utc(2026, 1, 5, 12)  # a Monday: weekly slots on Jan 5, 12, 19, ...


def _at(days: float, action, plan: Plan) -> Plan:
    with time_machine.travel(START + timedelta(days=days), tick=False):
        return action(tenant=tenant_of(plan), plan_id=plan.pk)


def test_a_slot_skipped_by_an_earlier_pause_stays_skipped(make_plan, eur_rate):
    with time_machine.travel(START, tick=False):
        plan = make_plan(frequency="weekly")
        plans_charge_due()  # slot 0
    _at(1, plan_pause, plan)
    # Slot 1 (Jan 12) comes due while paused: the resume skips it.
    assert _at(9, plan_resume, plan).next_charge_at == START + timedelta(weeks=2)
    _at(10, plan_pause, plan)  # before slot 2: nothing is owed
    # It used to bring slot 1 back (due before this pause, no charge).
    assert _at(11, plan_resume, plan).next_charge_at == START + timedelta(weeks=2)
    assert run_at(START + timedelta(days=11, hours=1)).charged == 0
    run_at(START + timedelta(weeks=2, hours=1))
    assert [c.slot for c in plan.charges.order_by("slot")] == [0, 2]


def test_a_slot_due_at_the_pause_is_owed_only_by_that_pause(make_plan, eur_rate):
    with time_machine.travel(START, tick=False):
        plan = make_plan(frequency="weekly")
        plans_charge_due()
    # Slot 1 is due (Jan 12, 12:00) and the hourly job has not run yet.
    paused = _at(7.01, plan_pause, plan)
    assert (paused.owed_due_at, paused.next_charge_at) == (
        START + timedelta(weeks=1),
        None,
    )
    resumed = _at(8, plan_resume, plan)
    assert (resumed.next_charge_at, resumed.owed_due_at) == (
        START + timedelta(weeks=1),
        None,
    )
    assert run_at(START + timedelta(days=8, hours=1)).charged == 1
    # Paused and resumed again before slot 2: slot 1 is charged, nothing owed.
    assert _at(9, plan_pause, plan).owed_due_at is None
    assert _at(10, plan_resume, plan).next_charge_at == START + timedelta(weeks=2)
    assert [c.slot for c in plan.charges.order_by("slot")] == [0, 1]


def test_auto_pause_owes_nothing(make_plan, eur_rate):
    with time_machine.travel(START, tick=False):
        plan = make_plan(frequency="weekly")
    Plan.objects.filter(pk=plan.pk).update(consecutive_failures=2)
    plan.merchant.disabled = True  # D29: a charge that cannot be created fails
    plan.merchant.save(update_fields=["disabled"])
    assert run_at(START + timedelta(hours=1)).paused == 1
    plan.refresh_from_db()
    assert (plan.status, plan.owed_due_at) == (Plan.Status.PAUSED, None)


def test_the_migration_gives_plans_paused_before_it_what_resume_inferred(
    make_plan, eur_rate
):
    migration = importlib.import_module("recurring.migrations.0003_plan_owed_due_at")
    with time_machine.travel(START, tick=False):
        owed = make_plan(frequency="weekly")
        charged = make_plan(frequency="weekly")
        plans_charge_due()
    # Paused by the code before the field: slot 1 due, uncharged at the pause.
    Plan.objects.filter(pk=owed.pk).update(
        status=Plan.Status.PAUSED,
        paused_at=START + timedelta(days=7, hours=1),
        next_charge_at=None,
    )
    Plan.objects.filter(pk=charged.pk).update(
        status=Plan.Status.PAUSED,
        paused_at=START + timedelta(days=3),  # slot 0 (charged) the latest
        next_charge_at=None,
    )
    migration.owed_at_pause(apps, None)
    owed.refresh_from_db()
    charged.refresh_from_db()
    assert (owed.owed_due_at, charged.owed_due_at) == (START + timedelta(weeks=1), None)


def test_the_migration_pass_costs_a_few_statements_however_many_plans_are_paused(
    make_plan, eur_rate, django_assert_max_num_queries
):
    # It runs under AddField's ACCESS EXCLUSIVE lock on the plans: two
    # statements per paused plan stalled every plan read for ~2 ms a plan.
    migration = importlib.import_module("recurring.migrations.0003_plan_owed_due_at")
    with time_machine.travel(START, tick=False):
        plans = [make_plan(frequency="weekly") for _ in range(12)]
    Plan.objects.filter(pk__in=[p.pk for p in plans]).update(
        status=Plan.Status.PAUSED,
        paused_at=START + timedelta(days=7, hours=1),
        next_charge_at=None,
    )
    with django_assert_max_num_queries(4):  # read, charges, one bulk UPDATE (+1)
        migration.owed_at_pause(apps, None)
    assert set(Plan.objects.values_list("owed_due_at", flat=True)) == {
        START + timedelta(weeks=1)
    }


def test_an_owed_slot_too_old_to_charge_is_not_the_resumes_next_charge(
    make_plan, eur_rate
):
    # D29: a missed slot is charged only while its invoice would still be
    # payable (charge_too_late: 7 days for a monthly plan). A slot a pause owed
    # and a resume 10 days later: the resume answered next_charge_at = that
    # slot, 10 days in the past, and the job then skipped it without a charge.
    with time_machine.travel(START, tick=False):
        plan = make_plan(frequency="monthly")
        plans_charge_due()  # slot 0 (Jan 5)
    feb_5 = utc(2026, 2, 5, 12)
    with time_machine.travel(feb_5 + timedelta(minutes=30), tick=False):
        paused = plan_pause(tenant=tenant_of(plan), plan_id=plan.pk)
    assert paused.owed_due_at == feb_5
    with time_machine.travel(feb_5 + timedelta(days=10), tick=False):
        resumed = plan_resume(tenant=tenant_of(plan), plan_id=plan.pk)
    assert resumed.next_charge_at == utc(2026, 3, 5, 12)
    assert run_at(feb_5 + timedelta(days=10, hours=1)).charged == 0


def test_an_owed_monthly_slot_is_still_charged_within_its_invoice_lifetime(
    make_plan, eur_rate
):
    with time_machine.travel(START, tick=False):
        plan = make_plan(frequency="monthly")
        plans_charge_due()
    feb_5 = utc(2026, 2, 5, 12)
    with time_machine.travel(feb_5 + timedelta(minutes=30), tick=False):
        plan_pause(tenant=tenant_of(plan), plan_id=plan.pk)
    with time_machine.travel(feb_5 + timedelta(days=6), tick=False):
        resumed = plan_resume(tenant=tenant_of(plan), plan_id=plan.pk)
    assert resumed.next_charge_at == feb_5
    assert run_at(feb_5 + timedelta(days=6, hours=1)).charged == 1


def test_a_pause_owes_the_latest_slot_due_not_an_older_missed_one(make_plan, eur_rate):
    # D29: the slot owed at a pause is the one the job would charge then, the
    # latest due. After a job outage of more than a period next_charge_at
    # still named an older missed slot; the pause stored that one, the resume
    # found it was not the latest and skipped to the next slot: the latest
    # slot, due before the pause and uncharged, was lost.
    with time_machine.travel(START, tick=False):
        plan = make_plan(frequency="daily")
        plans_charge_due()  # slot 0
    # The job does not run for two days: slots 1 and 2 come due uncharged.
    paused = _at(2 + 1 / 24, plan_pause, plan)
    assert paused.owed_due_at == START + timedelta(days=2)
    resumed = _at(2 + 2 / 24, plan_resume, plan)
    assert resumed.next_charge_at == START + timedelta(days=2)
    assert run_at(START + timedelta(days=2, hours=3)).charged == 1
    assert [c.slot for c in plan.charges.order_by("slot")] == [0, 2]
