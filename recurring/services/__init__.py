"""Writes for recurring plans (STYLE.md: keyword-only, typed, guarantees documented).

``plans``: create (idempotent, D17), with its checks in ``plan_checks``;
``plan_actions``: pause, resume, cancel (D29, D35);
``charging``: the hourly job that turns due slots into payment requests (D29,
spec §10.4).
"""

from .charging import FAILURES_BEFORE_PAUSE, ChargeRunSummary, plans_charge_due
from .plan_actions import plan_cancel, plan_pause, plan_resume
from .plans import (
    PlanCreateResult,
    plan_body_hash,
    plan_create,
    plan_create_or_replay,
    plan_replay,
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
