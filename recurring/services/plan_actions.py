"""Plan lifecycle actions (D35): pause, resume (D29), cancel.

Each locks the plan row, so an action cannot interleave with the charging job
charging that plan.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from jopay_project.errors import ErrorCode, JoPayError
from jopay_project.tenancy import Tenant
from recurring.models import Plan
from recurring.schedule import (
    charge_too_late,
    latest_slot_at_or_before,
    next_slot_after,
    slot_at,
)


def _locked(tenant: Tenant, plan_id: uuid.UUID) -> Plan:
    plan = (
        Plan.objects.for_tenant(tenant)
        .select_for_update(of=("self",))
        .select_related("merchant", "partner")
        .filter(pk=plan_id)
        .first()
    )
    if plan is None:
        raise JoPayError(ErrorCode.PLAN_NOT_FOUND)
    if plan.is_terminated:
        # D35: any action on a cancelled or completed plan, a second cancel included.
        raise JoPayError(ErrorCode.PLAN_ALREADY_TERMINATED)
    return plan


@transaction.atomic
def plan_pause(
    *, tenant: Tenant, plan_id: uuid.UUID, now: datetime | None = None
) -> Plan:
    """active → paused; the job skips it and ``next_charge_at`` becomes null.

    Raises ``plan_not_found`` (unknown, foreign, other mode),
    ``plan_already_terminated`` or ``can_only_pause_active_plans``. The row is
    locked, so a pause cannot interleave with the job charging the plan.
    """
    plan = _locked(tenant, plan_id)
    if plan.status != Plan.Status.ACTIVE:
        raise JoPayError(ErrorCode.CAN_ONLY_PAUSE_ACTIVE_PLANS)
    now = now or timezone.now()
    plan.status = Plan.Status.PAUSED
    plan.paused_at = now
    plan.owed_due_at = _owed_at_pause(plan, now)
    plan.next_charge_at = None
    plan.save(
        update_fields=[
            "status",
            "paused_at",
            "owed_due_at",
            "next_charge_at",
            "updated_at",
        ]
    )
    return plan


def _owed_at_pause(plan: Plan, now: datetime) -> datetime | None:
    """The slot a pause leaves owed: the one the job would charge at ``now``.

    That is the latest slot due (D29: earlier missed ones are skipped, never
    caught up), not ``next_charge_at``: after a job outage of more than a
    period that still names an older missed slot, and the resume, which owes
    only the latest slot, then skipped the one due at the pause.
    """
    if plan.next_charge_at is None or plan.next_charge_at > now:
        return None
    latest = latest_slot_at_or_before(plan.anchor_at, plan.frequency, now)
    return slot_at(plan.anchor_at, plan.frequency, latest or 0)


@transaction.atomic
def plan_resume(
    *, tenant: Tenant, plan_id: uuid.UUID, now: datetime | None = None
) -> Plan:
    """paused → active, next charge at the first slot strictly after ``now`` (D29).

    Slots that came due while paused are skipped, never caught up. A slot that
    came due before the pause but that the hourly job had not charged yet (the
    first charge of a plan paused minutes after creation) is still owed: it
    is due again at once, while no newer slot has come (``owed_due_at``, set
    by the pause; ``_resume_slot``). The failure count starts again from 0
    (a resume is a deliberate fresh start). Raises
    ``plan_not_found``, ``plan_already_terminated`` or
    ``can_only_resume_paused_plans``.
    """
    plan = _locked(tenant, plan_id)
    if plan.status != Plan.Status.PAUSED:
        raise JoPayError(ErrorCode.CAN_ONLY_RESUME_PAUSED_PLANS)
    now = now or timezone.now()
    plan.next_charge_at = slot_at(
        plan.anchor_at, plan.frequency, _resume_slot(plan, now)
    )
    plan.status = Plan.Status.ACTIVE
    plan.paused_at = None
    plan.owed_due_at = None
    plan.consecutive_failures = 0
    plan.save(
        update_fields=[
            "status",
            "paused_at",
            "owed_due_at",
            "consecutive_failures",
            "next_charge_at",
            "updated_at",
        ]
    )
    return plan


def _resume_slot(plan: Plan, now: datetime) -> int:
    latest = latest_slot_at_or_before(plan.anchor_at, plan.frequency, now)
    if (
        latest is not None
        and plan.owed_due_at is not None
        and slot_at(plan.anchor_at, plan.frequency, latest) == plan.owed_due_at
        and not plan.charges.filter(slot=latest).exists()
        # D29: owed only while its invoice would still be payable; older, the
        # job skips it, so it is not the next charge (a monthly slot resumed
        # 10 days late showed a past next_charge_at that was never charged).
        and not charge_too_late(plan.frequency, plan.owed_due_at, now)
    ):
        return latest  # due at the pause, never charged: still owed
    # Not ``paused_at``: a slot skipped by an earlier pause also came due
    # before this one and has no charge, yet it stays skipped.
    return next_slot_after(plan.anchor_at, plan.frequency, now)


@transaction.atomic
def plan_cancel(
    *, tenant: Tenant, plan_id: uuid.UUID, now: datetime | None = None
) -> Plan:
    """active or paused → cancelled, for good; charges already made stay as they are.

    Raises ``plan_not_found`` or ``plan_already_terminated`` (a second cancel
    too, D35).
    """
    plan = _locked(tenant, plan_id)
    plan.status = Plan.Status.CANCELLED
    plan.cancelled_at = now or timezone.now()
    plan.next_charge_at = None
    plan.save(update_fields=["status", "cancelled_at", "next_charge_at", "updated_at"])
    return plan
