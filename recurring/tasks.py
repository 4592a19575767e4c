"""Celery tasks of recurring billing (D29, D35)."""

from __future__ import annotations

from celery import shared_task

from recurring.services import plans_charge_due


# Beat runs it hourly (jopay_project/celery.py). The service stops starting new
# plans after its 50 s budget; the limits only catch a run stuck in I/O.
@shared_task(
    name="recurring.charge_recurring_plans", time_limit=180, soft_time_limit=150
)
def plans_charge_due_task() -> dict[str, object]:
    """Charge the due plans; safe to run twice or on two workers at once."""
    return plans_charge_due().as_dict()
