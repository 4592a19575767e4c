"""The job's soft time limit is the run's trouble, not the plan's (D29).

Celery raises ``SoftTimeLimitExceeded`` wherever the task stands, e.g. waiting
on a wallet's amount lock inside a charge. It was recorded as an ``api_error``
failure: the slot was never tried again and counted towards the pause.
"""

from __future__ import annotations

import pytest
from celery.exceptions import SoftTimeLimitExceeded

from recurring.services import charging, plans_charge_due


def test_a_soft_time_limit_leaves_the_slot_due_and_ends_the_run(
    make_plan, eur_rate, monkeypatch
):
    plan = make_plan(frequency="daily")
    due_at = plan.next_charge_at

    def out_of_time(*args, **kwargs):
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(charging, "charge_request_create", out_of_time)
    with pytest.raises(SoftTimeLimitExceeded):
        plans_charge_due()
    monkeypatch.undo()
    plan.refresh_from_db()
    assert not plan.charges.exists()
    assert (plan.next_charge_at, plan.consecutive_failures) == (due_at, 0)
    assert plans_charge_due().charged == 1
