"""``charge_recurring_plans`` (D35) and the Celery task beat runs hourly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command

from jopay_project.celery import app
from recurring.tasks import plans_charge_due_task


def run_command(*args: str) -> str:
    out = StringIO()
    call_command("charge_recurring_plans", *args, stdout=out)
    return out.getvalue()


def test_command_charges_due_plans_and_prints_one_summary_line(make_plan, eur_rate):
    plan = make_plan()
    output = run_command()
    assert output.count("\n") == 1
    assert output.startswith("charged=1 failed=0 paused=0 completed=0 skipped=0")
    assert plan.charges.count() == 1
    assert run_command().startswith("charged=0 ")  # safe to run twice


def test_command_now_option_picks_the_slot_due_then(make_plan, eur_rate):
    with time_machine.travel(datetime(2028, 1, 31, 10, tzinfo=UTC), tick=False):
        plan = make_plan()
        run_command()
        # Naive times are UTC (D1); "Z" and offsets are understood.
        assert run_command("--now", "2028-02-29T09:59:00").startswith("charged=0 ")
        assert run_command("--now", "2028-02-29T10:00:00Z").startswith("charged=1 ")
        assert run_command("--now", "2028-03-31T12:00:00+02:00").startswith(
            "charged=1 "
        )
    assert [c.due_at for c in plan.charges.order_by("slot")] == [
        datetime(2028, 1, 31, 10, tzinfo=UTC),
        datetime(2028, 2, 29, 10, tzinfo=UTC),
        datetime(2028, 3, 31, 10, tzinfo=UTC),
    ]
    plan.refresh_from_db()
    assert plan.next_charge_at == datetime(2028, 4, 30, 10, tzinfo=UTC)


def test_command_now_takes_a_leap_second(make_plan, eur_rate):
    with time_machine.travel(datetime(2028, 1, 31, 10, tzinfo=UTC), tick=False):
        plan = make_plan()
        run_command()
        # 09:59:60 is 10:00:00 (RFC 3339), the second slot's due time.
        assert run_command("--now", "2028-02-29T09:59:60Z").startswith("charged=1 ")
    assert plan.charges.order_by("slot").last().due_at == datetime(
        2028, 2, 29, 10, tzinfo=UTC
    )


def test_command_refuses_a_now_past_9999_in_utc(make_plan, eur_rate):
    """It was taken, and every due plan's slot math overflowed: each plan was
    logged as a crash and skipped, and the run still reported success."""
    make_plan()
    with pytest.raises(CommandError, match="ISO 8601"):
        run_command("--now", "9999-12-31T23:59:59-05:00")


@pytest.mark.parametrize("now", ["9999-12-31T23:59:59Z", "9999-06-01"])
def test_command_refuses_a_now_in_the_last_year_utc_can_hold(make_plan, eur_rate, now):
    """In UTC but too late for a slot's next due time or its request's expiry:
    every due plan was logged as a crash and skipped, and the run exited 0
    (skipped=1), as past 9999 in UTC did."""
    plan = make_plan()
    with pytest.raises(CommandError, match="ISO 8601"):
        run_command("--now", now)
    assert plan.charges.count() == 0


@pytest.mark.parametrize(
    "args",
    [
        ["--now", "yesterday"],
        ["--batch-size", "0"],
        ["--budget-seconds", "0"],
        ["--budget-seconds", "nan"],  # passed "<= 0": a run with no budget
        ["--budget-seconds", "inf"],
        ["--budget-seconds", "-inf"],
    ],
)
def test_command_refuses_bad_options(db, args):
    with pytest.raises(CommandError):
        run_command(*args)


def test_task_has_the_beat_name_and_runs_the_job(make_plan, eur_rate):
    assert plans_charge_due_task.name == "recurring.charge_recurring_plans"
    scheduled = {entry["task"] for entry in app.conf.beat_schedule.values()}
    assert plans_charge_due_task.name in scheduled
    plan = make_plan()
    result = plans_charge_due_task()
    assert result["charged"] == 1
    assert plan.charges.count() == 1


def test_task_leaves_future_plans_alone(make_plan, eur_rate):
    with time_machine.travel(datetime.now(UTC) + timedelta(days=1), tick=False):
        make_plan()
    assert plans_charge_due_task()["charged"] == 0
