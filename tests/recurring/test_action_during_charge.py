"""A pause, resume or cancel that arrives while the job is charging the plan (D29, D35).

The job holds the plan's row lock from its claim to its commit; an action
waits for it and then applies to the plan as the charge left it. Forced
interleaving with real threads on two PostgreSQL connections: the job stops
inside its transaction (the request already written) until the action has
started and is waiting on the lock.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from recurring.models import Charge, Plan
from recurring.services import charging, plan_cancel, plan_pause, plans_charge_due
from tests.locks import waiting_on_a_lock
from tests.recurring.conftest import tenant_of
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db(transaction=True)


def _charge_while(monkeypatch, action):
    """Run the job; inside its charge, start ``action`` and let the job commit
    only once the action waits on the plan's lock. Returns the action's outcome."""
    original = charging.charge_request_create
    action_pid: list[int] = []
    outcome: dict = {}
    started = threading.Event()

    def run_action():
        try:
            connection.ensure_connection()
            action_pid.append(connection.connection.info.backend_pid)
            started.set()
            outcome["result"] = action()
        except Exception as exc:  # surfaced to the test
            outcome["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run_action)

    def charge_request_create(plan, slot, due_at):
        request = original(plan, slot, due_at)
        thread.start()
        started.wait(10)
        for _ in range(1000):  # until the action blocks on the plan row
            if waiting_on_a_lock(action_pid[0]):
                break
            threading.Event().wait(0.01)
        else:
            raise AssertionError("the action never waited on the plan's lock")
        return request

    monkeypatch.setattr(charging, "charge_request_create", charge_request_create)
    summary = plans_charge_due()
    thread.join(30)
    return summary, outcome


def test_a_pause_during_a_charge_waits_and_applies_after_it(
    make_plan, eur_rate, monkeypatch
):
    plan = make_plan(frequency="daily")
    summary, outcome = _charge_while(
        monkeypatch, lambda: plan_pause(tenant=tenant_of(plan), plan_id=plan.pk)
    )
    assert "error" not in outcome, outcome
    assert summary.charged == 1
    plan.refresh_from_db()
    assert (plan.status, plan.next_charge_at, plan.charges_count) == (
        Plan.Status.PAUSED,
        None,
        1,
    )
    assert Charge.objects.filter(plan=plan).count() == 1
    assert WebhookEvent.objects.filter(type="recurring.charge_created").count() == 1


def test_a_cancel_during_the_last_charge_finds_the_plan_completed(
    make_plan, eur_rate, monkeypatch
):
    plan = make_plan(frequency="daily", max_charges=1)
    _, outcome = _charge_while(
        monkeypatch, lambda: plan_cancel(tenant=tenant_of(plan), plan_id=plan.pk)
    )
    assert getattr(outcome.get("error"), "code", None) == "plan_already_terminated"
    plan.refresh_from_db()
    assert (plan.status, plan.charges_count) == (Plan.Status.COMPLETED, 1)
    assert Charge.objects.filter(plan=plan).count() == 1
