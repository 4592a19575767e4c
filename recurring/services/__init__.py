"""Writes for recurring plans (STYLE.md: keyword-only, typed, guarantees documented).

``plans``: create (idempotent, D17), pause, resume, cancel (D29, D35);
``charging``: the hourly job that turns due slots into payment requests (D29,
spec §10.4).
"""

from .charging import ChargeRunSummary, plans_charge_due
from .plans import (
    FAILURES_BEFORE_PAUSE,
    PlanCreateResult,
    plan_body_hash,
    plan_cancel,
    plan_create,
    plan_create_or_replay,
    plan_pause,
    plan_replay,
    plan_resume,
)

__all__ = [
    "FAILURES_BEFORE_PAUSE",
    "ChargeRunSummary",
    "PlanCreateResult",
    "plan_body_hash",
    "plan_cancel",
    "plan_create",
    "plan_create_or_replay",
    "plan_pause",
    "plan_replay",
    "plan_resume",
    "plans_charge_due",
]
