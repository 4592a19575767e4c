"""The charging job (D29, D35, spec §10.4): due slots become payment requests.

Run hourly by beat (``recurring.charge_recurring_plans``) and by operators
(``manage.py charge_recurring_plans``). Safe to run twice and from several
workers at once:

- each plan is charged in its own short transaction that first locks the plan
  row with ``SKIP LOCKED`` and re-checks that it is still active and due, so a
  plan another worker holds is left to that worker, and a plan charged a moment
  ago (its ``next_charge_at`` already moved past ``now``) is not charged again;
- ``Charge(plan, slot)`` is unique, so even a plan whose due time was moved
  back by hand cannot be charged twice for one slot.

Candidates are read oldest first in batches (keyset on ``(next_charge_at, id)``,
served by a partial index). Batches are deliberately not locked as a whole: one
long transaction would hold a hundred plan locks and the merchants' amount
locks (D15) for its whole length, blocking API request creation on those
wallets, and one bad plan would roll back the others.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime

from celery.exceptions import SoftTimeLimitExceeded
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import Q
from django.utils import timezone

from jopay_project.db import retry_transient
from jopay_project.errors import ErrorCode, JoPayError
from recurring.models import Charge, Plan
from recurring.schedule import (
    charge_too_late,
    latest_slot_at_or_before,
    slot_at,
)
from webhooks.services import event_emit

from .charge_request import charge_event_data, charge_request_create

logger = logging.getLogger("jopay.recurring")

BATCH_SIZE = 100  # spec §10.4
BUDGET_SECONDS = 50.0  # spec §10.4: leftovers wait for the next run

# D29: this many charges in a row that could not be created pause the plan.
FAILURES_BEFORE_PAUSE = 3


@dataclass
class ChargeRunSummary:
    """What one run did. ``skipped``: held by another worker, no longer due, or
    its latest slot was already charged or too old to charge (``charge_too_late``),
    so the plan only moved on to its next slot; or left due and untouched by a
    database error, or by an error not even recordable as a failed charge (both
    logged), so the next run tries it again."""

    charged: int = 0
    failed: int = 0
    paused: int = 0
    completed: int = 0
    skipped: int = 0
    out_of_time: bool = False
    elapsed_seconds: float = 0.0

    def line(self) -> str:
        return (
            f"charged={self.charged} failed={self.failed} paused={self.paused} "
            f"completed={self.completed} skipped={self.skipped} "
            f"out_of_time={'yes' if self.out_of_time else 'no'} "
            f"elapsed={self.elapsed_seconds:.2f}s"
        )

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


def plans_charge_due(
    *,
    now: datetime | None = None,
    batch_size: int = BATCH_SIZE,
    budget_seconds: float = BUDGET_SECONDS,
) -> ChargeRunSummary:
    """Charge every active plan whose ``next_charge_at`` ≤ ``now``, oldest first.

    Per plan, in one transaction: the slot charged is the latest one due at
    ``now`` (earlier missed slots are skipped, never caught up, D29; so is
    that one once older than its invoice's lifetime, ``charge_too_late``); plans of
    an inactive partner wait, uncharged. An
    invoice-mode payment request is created through ``payment_request_create``
    (USDC recomputed from the current FX rate) with a ``Charge`` row and a
    ``recurring.charge_created`` event; or, when the request cannot be created
    (``fx_unavailable``, ``merchant_not_ready``, ``amount_*`` …), a failed
    ``Charge`` with the code. Success resets ``consecutive_failures``;
    ``FAILURES_BEFORE_PAUSE`` failures in a row pause the plan; reaching
    ``max_charges`` completes it; otherwise ``next_charge_at`` moves to the
    first slot strictly after ``now``. Stops starting new plans after
    ``budget_seconds``. Never raises for one plan's trouble: an unexpected
    error is logged and recorded as an ``api_error`` failure, so one bad plan
    cannot stall the queue.
    """
    now = now or timezone.now()
    started = time.monotonic()
    summary = ChargeRunSummary()
    cursor: tuple[datetime, uuid.UUID] | None = None
    while True:
        due = Plan.objects.filter(
            status=Plan.Status.ACTIVE,
            next_charge_at__lte=now,
            partner__is_active=True,
        )
        if cursor is not None:
            due = due.filter(
                Q(next_charge_at__gt=cursor[0])
                | Q(next_charge_at=cursor[0], id__gt=cursor[1])
            )
        batch = list(
            due.order_by("next_charge_at", "id").values_list("next_charge_at", "id")[
                :batch_size
            ]
        )
        for due_at, plan_id in batch:
            if time.monotonic() - started >= budget_seconds:
                summary.out_of_time = True
                break
            cursor = (due_at, plan_id)
            _charge_one(plan_id, now, summary)
        if summary.out_of_time or len(batch) < batch_size:
            break
    summary.elapsed_seconds = time.monotonic() - started
    return summary


def _charge_one(plan_id: uuid.UUID, now: datetime, summary: ChargeRunSummary) -> None:
    try:
        outcome = retry_transient(lambda: _charge_plan(plan_id, now))
    except SoftTimeLimitExceeded:
        # The task's time is up (a run stuck in I/O), not the plan's fault:
        # recorded as api_error, the slot would never be tried again. Its
        # transaction rolled back, so it stays due; the run ends here.
        raise
    except (OperationalError, InterfaceError):
        # The database, not the plan: a lock timeout, a lost connection, a full
        # disk. Recorded as a failure, the slot would count towards the pause
        # and never be tried again (a Charge row now holds it): the customer
        # would simply not be billed for the period. Left due, the next run
        # charges it while its invoice would still be payable (D29).
        logger.exception("recurring: plan %s left due after a database error", plan_id)
        outcome = None
    except Exception:
        logger.exception("recurring: charging plan %s failed unexpectedly", plan_id)
        try:
            outcome = _record_crash(plan_id, now)
        except Exception:
            # Not even the failure can be recorded (corrupt row): leave the plan
            # due for an operator. The keyset cursor has passed it, so this run
            # does not spin on it.
            logger.exception("recurring: plan %s could not be recorded", plan_id)
            outcome = None
    if outcome is None:
        summary.skipped += 1
        return
    if outcome.status == Charge.Status.CREATED:
        summary.charged += 1
    else:
        summary.failed += 1
    if outcome.plan_status == Plan.Status.PAUSED:
        summary.paused += 1
    elif outcome.plan_status == Plan.Status.COMPLETED:
        summary.completed += 1


@dataclass(frozen=True)
class _Outcome:
    status: str  # Charge.Status
    plan_status: str


def _claim(plan_id: uuid.UUID, now: datetime) -> Plan | None:
    """Lock the plan if it is free, still active and still due; else None."""
    return (
        Plan.objects.select_for_update(skip_locked=True, of=("self",))
        .select_related("merchant", "partner")
        .filter(
            pk=plan_id,
            status=Plan.Status.ACTIVE,
            next_charge_at__lte=now,
            # A deactivated partner is switched off everywhere (keys, portal):
            # its plans charge nothing until it is active again.
            partner__is_active=True,
        )
        .first()
    )


def _due_slot(plan: Plan, now: datetime) -> int:
    slot = latest_slot_at_or_before(plan.anchor_at, plan.frequency, now)
    # next_charge_at ≤ now and every next_charge_at is a slot ≥ anchor_at.
    return 0 if slot is None else slot


@transaction.atomic(durable=True)
def _charge_plan(plan_id: uuid.UUID, now: datetime) -> _Outcome | None:
    plan = _claim(plan_id, now)
    if plan is None:
        return None
    slot = _due_slot(plan, now)
    due_at = slot_at(plan.anchor_at, plan.frequency, slot)
    if Charge.objects.filter(plan=plan, slot=slot).exists() or charge_too_late(
        plan.frequency, due_at, now
    ):
        # Already charged (the due time was moved back by hand), or missed for
        # longer than its invoice would have lived: only advance.
        _advance(plan, slot)
        plan.save()
        return None
    try:
        with transaction.atomic():  # a savepoint: a refused request leaves nothing
            request = charge_request_create(plan, slot, due_at)
            Charge.objects.create(
                plan=plan,
                slot=slot,
                due_at=due_at,
                payment_request=request,
                status=Charge.Status.CREATED,
            )
            event_emit(
                partner=plan.partner,
                test_mode=plan.test_mode,
                type="recurring.charge_created",
                data=charge_event_data(plan, slot, due_at, request),
                request_id=request.pk,
            )
    except JoPayError as exc:
        _record_failure(plan, slot, due_at, str(exc.code))
        return _Outcome(Charge.Status.FAILED, plan.status)
    plan.charges_count += 1
    plan.consecutive_failures = 0
    plan.last_failure_code = ""
    if plan.max_charges is not None and plan.charges_count >= plan.max_charges:
        plan.status = Plan.Status.COMPLETED
        plan.completed_at = timezone.now()
        plan.next_charge_at = None
    else:
        _advance(plan, slot)
    plan.save()
    return _Outcome(Charge.Status.CREATED, plan.status)


def _advance(plan: Plan, slot: int) -> None:
    # slot is the latest one ≤ now, so slot + 1 is the first strictly after now.
    plan.next_charge_at = slot_at(plan.anchor_at, plan.frequency, slot + 1)


def _record_failure(plan: Plan, slot: int, due_at: datetime, code: str) -> None:
    Charge.objects.create(
        plan=plan,
        slot=slot,
        due_at=due_at,
        status=Charge.Status.FAILED,
        failure_code=code,
    )
    plan.consecutive_failures += 1
    plan.last_failure_code = code
    if plan.consecutive_failures >= FAILURES_BEFORE_PAUSE:
        plan.status = Plan.Status.PAUSED
        plan.paused_at = timezone.now()
        plan.owed_due_at = None  # this slot has its (failed) charge
        plan.next_charge_at = None
    else:
        _advance(plan, slot)
    plan.save()


@transaction.atomic(durable=True)
def _record_crash(plan_id: uuid.UUID, now: datetime) -> _Outcome | None:
    """After an unexpected error: count it as a failure so the plan moves on."""
    plan = _claim(plan_id, now)
    if plan is None:
        return None
    slot = _due_slot(plan, now)
    if Charge.objects.filter(plan=plan, slot=slot).exists():
        _advance(plan, slot)
        plan.save()
        return None
    due_at = slot_at(plan.anchor_at, plan.frequency, slot)
    _record_failure(plan, slot, due_at, str(ErrorCode.API_ERROR))
    return _Outcome(Charge.Status.FAILED, plan.status)
