"""The charging job (D29, D35, spec §10.4), with time travel over several periods."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg
import pytest
import time_machine
from django.conf import settings
from django.db import connection
from django.utils import timezone
from eth_utils import to_checksum_address

from payments.models import FxRate, PaymentRequest
from payments.money import fiat_to_usdc_micro
from payments.services.tags import AMOUNT_LOCK_CLASS
from recurring.models import Charge, Plan
from recurring.services import plan_cancel, plan_pause, plan_resume, plans_charge_due
from tests.recurring.conftest import tenant_of
from webhooks.models import WebhookEvent


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def run_at(when: datetime):
    """Run the job with the clock at ``when`` (requests are created 'then' too)."""
    with time_machine.travel(when, tick=False):
        return plans_charge_due()


def due_dates(plan: Plan) -> list[datetime]:
    return list(plan.charges.order_by("slot").values_list("due_at", flat=True))


def charge_events(plan: Plan):
    return WebhookEvent.objects.filter(
        type="recurring.charge_created", payload__plan_id=str(plan.pk)
    ).order_by("created_at")


# --- one charge -----------------------------------------------------------------------


def test_first_charge_is_an_invoice_request_with_an_event(make_plan, eur_rate):
    with time_machine.travel(utc(2026, 5, 4, 9, 30), tick=False):
        plan = make_plan(metadata={"customer": "c-42"}, customer_email="p@example.com")
        summary = plans_charge_due()

    assert (summary.charged, summary.failed, summary.skipped) == (1, 0, 0)
    charge = plan.charges.get()
    assert charge.slot == 0
    assert charge.charge_number == 1
    assert charge.status == "created"
    assert charge.due_at == utc(2026, 5, 4, 9, 30)
    request = charge.payment_request
    assert request.payment_mode == PaymentRequest.PaymentMode.INVOICE
    assert (request.fiat_int, request.fiat_code) == (2500, "EUR")
    assert request.partner_id == plan.partner_id
    assert request.test_mode is False
    assert request.merchant_id == plan.merchant_id
    # D29: expiry is min(7 days, one period); monthly → 7 days.
    assert request.expires_at - request.created_at == timedelta(days=7)
    assert request.metadata == {
        "customer": "c-42",
        "plan_id": str(plan.pk),
        "charge_number": "1",
    }
    # D14: USDC from the current rate, then made unique in its last 3 digits (D15).
    exact = fiat_to_usdc_micro(2500, "EUR", Decimal("0.92"))
    assert exact - exact % 1000 <= request.usdc_micro < exact - exact % 1000 + 1000

    event = charge_events(plan).get()
    assert event.request_id == request.pk
    assert event.partner_id == plan.partner_id
    assert event.test_mode is False
    payload = event.payload
    assert payload["event"] == "recurring.charge_created"
    assert payload["plan_id"] == str(plan.pk)
    assert payload["request_id"] == str(request.pk)
    assert (
        payload["pay_page_url"] == f"{settings.JOPAY_PUBLIC_BASE_URL}/pay/{request.pk}"
    )
    assert payload["amount"] == {
        "fiat_int": 2500,
        "fiat_code": "EUR",
        "usdc_micro": str(request.usdc_micro),
    }
    assert payload["charge_number"] == 1
    assert payload["customer_email"] == "p@example.com"

    plan.refresh_from_db()
    assert plan.charges_count == 1
    assert plan.consecutive_failures == 0
    assert plan.status == "active"
    assert plan.next_charge_at == utc(2026, 6, 4, 9, 30)


def test_daily_charge_expires_after_one_day(make_plan, eur_rate):
    plan = make_plan(frequency="daily")
    plans_charge_due()
    request = plan.charges.get().payment_request
    assert request.expires_at - request.created_at == timedelta(days=1)


def test_test_mode_plans_make_test_mode_requests(make_plan, test_merchant, eur_rate):
    plan = make_plan(merchant=test_merchant)
    plans_charge_due()
    assert plan.charges.get().payment_request.test_mode is True
    assert charge_events(plan).get().test_mode is True


def test_a_double_run_changes_nothing(make_plan, eur_rate):
    plan = make_plan()
    first = plans_charge_due()
    second = plans_charge_due()
    assert first.charged == 1
    assert (second.charged, second.failed, second.skipped) == (0, 0, 0)
    assert plan.charges.count() == 1
    assert PaymentRequest.objects.count() == 1
    assert charge_events(plan).count() == 1


def test_a_slot_already_charged_is_never_charged_again(make_plan, eur_rate):
    """Even if the due time is moved back by hand, (plan, slot) is unique."""
    plan = make_plan()
    plans_charge_due()
    Plan.objects.filter(pk=plan.pk).update(next_charge_at=plan.anchor_at)
    summary = plans_charge_due()
    assert summary.charged == 0
    assert summary.skipped == 1
    assert plan.charges.count() == 1
    assert PaymentRequest.objects.count() == 1
    plan.refresh_from_db()
    assert plan.next_charge_at > timezone.now()


def test_paused_cancelled_and_future_plans_are_not_charged(make_plan, eur_rate):
    paused = make_plan()
    plan_pause(tenant=tenant_of(paused), plan_id=paused.pk)
    cancelled = make_plan()
    plan_cancel(tenant=tenant_of(cancelled), plan_id=cancelled.pk)
    later = make_plan()
    Plan.objects.filter(pk=later.pk).update(
        next_charge_at=timezone.now() + timedelta(minutes=1)
    )
    assert plans_charge_due().charged == 0
    assert not Charge.objects.exists()


# --- time travel ----------------------------------------------------------------------


def test_monthly_from_jan_31_across_feb_29_of_a_leap_year(make_plan, eur_rate):
    with time_machine.travel(utc(2028, 1, 31, 10), tick=False):
        plan = make_plan()
    expected = [
        utc(2028, 1, 31, 10),
        utc(2028, 2, 29, 10),
        utc(2028, 3, 31, 10),
        utc(2028, 4, 30, 10),
        utc(2028, 5, 31, 10),
    ]
    for due in expected:
        # An hourly job: the run just before the slot charges nothing …
        assert run_at(due - timedelta(minutes=1)).charged == 0
        # … the run at (or after) it charges exactly that slot.
        assert run_at(due + timedelta(minutes=5)).charged == 1
    assert due_dates(plan) == expected
    plan.refresh_from_db()
    assert plan.charges_count == 5
    assert plan.next_charge_at == utc(2028, 6, 30, 10)
    numbers = [e.payload["charge_number"] for e in charge_events(plan)]
    assert numbers == [1, 2, 3, 4, 5]


def test_monthly_from_jan_31_gives_feb_28_in_a_common_year(make_plan, eur_rate):
    with time_machine.travel(utc(2027, 1, 31, 23, 30), tick=False):
        plan = make_plan()
        plans_charge_due()
    for when in (utc(2027, 2, 28, 23, 45), utc(2027, 3, 31, 23, 45)):
        assert run_at(when).charged == 1
    assert due_dates(plan) == [
        utc(2027, 1, 31, 23, 30),
        utc(2027, 2, 28, 23, 30),
        utc(2027, 3, 31, 23, 30),
    ]


def test_month_and_year_boundary(make_plan, eur_rate):
    with time_machine.travel(utc(2026, 12, 31, 23, 59), tick=False):
        plan = make_plan()
        plans_charge_due()
    # 2027-01-31 23:59 is the next slot; a run on Jan 31 at 23:00 is too early.
    assert run_at(utc(2027, 1, 31, 23)).charged == 0
    assert run_at(utc(2027, 2, 1, 0, 5)).charged == 1
    assert due_dates(plan)[-1] == utc(2027, 1, 31, 23, 59)


def test_weekly_over_several_periods(make_plan, eur_rate):
    start = utc(2026, 3, 2, 8)
    with time_machine.travel(start, tick=False):
        plan = make_plan(frequency="weekly")
    for week in range(5):
        run_at(start + timedelta(weeks=week, minutes=30))
        run_at(start + timedelta(weeks=week, hours=1, minutes=30))  # hourly: no double
    assert due_dates(plan) == [start + timedelta(weeks=w) for w in range(5)]
    assert PaymentRequest.objects.count() == 5


def test_daily_over_several_periods_with_a_fresh_rate_each_time(make_plan, eur_rate):
    start = utc(2026, 3, 28, 6)  # across the EU DST switch: UTC does not care
    with time_machine.travel(start, tick=False):
        plan = make_plan(frequency="daily", fiat_amount_int=10_000)
    usdc = []
    for day, rate in enumerate(["0.92", "0.90", "0.95", "0.80"]):
        FxRate.objects.filter(pk=eur_rate.pk).update(rate=Decimal(rate))
        run_at(start + timedelta(days=day, minutes=1))
        usdc.append(plan.charges.get(slot=day).payment_request.usdc_micro // 1000)
    assert due_dates(plan) == [start + timedelta(days=d) for d in range(4)]
    # D29: USDC is recomputed at each charge from the current rate.
    assert usdc == [
        fiat_to_usdc_micro(10_000, "EUR", Decimal(r)) // 1000
        for r in ["0.92", "0.90", "0.95", "0.80"]
    ]


def test_missed_slots_are_skipped_not_caught_up(make_plan, eur_rate):
    start = utc(2026, 1, 5, 12)
    with time_machine.travel(start, tick=False):
        plan = make_plan(frequency="weekly")
        plans_charge_due()
    # The job did not run for three weeks and a half.
    summary = run_at(start + timedelta(weeks=3, days=4))
    assert summary.charged == 1
    assert [c.slot for c in plan.charges.order_by("slot")] == [0, 3]
    plan.refresh_from_db()
    assert plan.next_charge_at == start + timedelta(weeks=4)
    assert charge_events(plan).last().payload["charge_number"] == 4


def test_resumed_plan_charges_from_the_next_slot_after_now(make_plan, eur_rate):
    start = utc(2026, 1, 5, 12)
    with time_machine.travel(start, tick=False):
        plan = make_plan(frequency="daily")
        plans_charge_due()
        plan_pause(tenant=tenant_of(plan), plan_id=plan.pk)
    with time_machine.travel(start + timedelta(days=3, hours=1), tick=False):
        assert plans_charge_due().charged == 0
        plan_resume(tenant=tenant_of(plan), plan_id=plan.pk)
        assert plans_charge_due().charged == 0  # nothing due until the next slot
    run_at(start + timedelta(days=4))
    assert [c.slot for c in plan.charges.order_by("slot")] == [0, 4]


def test_a_slot_missed_for_longer_than_its_invoice_lives_is_skipped(
    make_plan, eur_rate
):
    # D29 "skipped, never caught up": the April slot, found 29 days late, would
    # have landed a day before May's invoice. Its invoice would have expired
    # (7 days) had it been on time, so it is not charged.
    start = utc(2026, 3, 10, 10)
    with time_machine.travel(start, tick=False):
        plan = make_plan(frequency="monthly")
        plans_charge_due()
    summary = run_at(utc(2026, 5, 9, 11, 5))
    assert (summary.charged, summary.skipped) == (0, 1)
    plan.refresh_from_db()
    assert plan.next_charge_at == utc(2026, 5, 10, 10)
    run_at(utc(2026, 5, 10, 11, 5))
    assert [c.slot for c in plan.charges.order_by("slot")] == [0, 2]


def test_a_slot_missed_for_less_than_its_invoice_lives_is_charged_late(
    make_plan, eur_rate
):
    start = utc(2026, 3, 10, 10)
    with time_machine.travel(start, tick=False):
        plan = make_plan(frequency="monthly")
        plans_charge_due()
    assert run_at(utc(2026, 4, 16, 9)).charged == 1  # 6 days 23 h late
    assert [c.slot for c in plan.charges.order_by("slot")] == [0, 1]


def test_resume_keeps_a_slot_that_came_due_before_the_pause_uncharged(
    make_plan, eur_rate
):
    # Paused two minutes after creation, before the hourly job ran: the first
    # charge (due at creation, D35) was owed, and resuming must not drop it.
    start = utc(2026, 3, 10, 10)
    with time_machine.travel(start, tick=False):
        plan = make_plan(frequency="monthly")
    with time_machine.travel(start + timedelta(minutes=2), tick=False):
        plan_pause(tenant=tenant_of(plan), plan_id=plan.pk)
    with time_machine.travel(start + timedelta(minutes=3), tick=False):
        plan_resume(tenant=tenant_of(plan), plan_id=plan.pk)
    plan.refresh_from_db()
    assert plan.next_charge_at == start
    assert run_at(start + timedelta(hours=1, minutes=5)).charged == 1
    assert [c.slot for c in plan.charges.order_by("slot")] == [0]
    plan.refresh_from_db()
    assert plan.next_charge_at == utc(2026, 4, 10, 10)


def test_plans_of_an_inactive_partner_wait_uncharged(make_plan, eur_rate):
    start = utc(2026, 3, 10, 10)
    with time_machine.travel(start, tick=False):
        plan = make_plan(frequency="daily")
    plan.partner.is_active = False
    plan.partner.save(update_fields=["is_active"])
    summary = run_at(start + timedelta(hours=1))
    assert (summary.charged, summary.failed, summary.skipped) == (0, 0, 0)
    assert not plan.charges.exists()
    assert not charge_events(plan).exists()
    plan.partner.is_active = True
    plan.partner.save(update_fields=["is_active"])
    assert run_at(start + timedelta(hours=2)).charged == 1


# --- failures -------------------------------------------------------------------------


def make_fx_stale(rate: FxRate) -> None:
    # D14: a feed rate older than 24 h is unusable (and this one is not pinned).
    FxRate.objects.filter(pk=rate.pk).update(
        pinned=False, source="feed", fetched_at=timezone.now() - timedelta(hours=25)
    )


def make_fx_fresh(rate: FxRate) -> None:
    FxRate.objects.filter(pk=rate.pk).update(
        pinned=True, source="manual", fetched_at=timezone.now()
    )


def test_three_failures_in_a_row_pause_the_plan(make_plan, eur_rate):
    start = utc(2026, 2, 1, 0, 30)
    with time_machine.travel(start, tick=False):
        plan = make_plan(frequency="daily")
        make_fx_stale(eur_rate)
    for day in range(3):
        summary = run_at(start + timedelta(days=day, minutes=10))
        assert summary.failed == 1
        plan.refresh_from_db()
        assert plan.consecutive_failures == day + 1
        assert plan.last_failure_code == "fx_unavailable"
    assert summary.paused == 1
    assert plan.status == "paused"
    assert plan.next_charge_at is None
    assert plan.charges_count == 0
    failed = list(plan.charges.order_by("slot"))
    assert [
        (c.slot, c.status, c.failure_code, c.payment_request_id) for c in failed
    ] == [
        (0, "failed", "fx_unavailable", None),
        (1, "failed", "fx_unavailable", None),
        (2, "failed", "fx_unavailable", None),
    ]
    # A failed charge leaves no request and no event behind.
    assert not PaymentRequest.objects.exists()
    assert not charge_events(plan).exists()
    # Paused: later runs leave it alone.
    assert run_at(start + timedelta(days=5)).failed == 0


def test_a_failure_still_advances_to_the_next_slot(make_plan, eur_rate):
    make_fx_stale(eur_rate)
    with time_machine.travel(utc(2026, 7, 1, 9), tick=False):
        plan = make_plan(frequency="weekly")
        plans_charge_due()
        assert plans_charge_due().failed == 0  # the failed slot is not retried
    plan.refresh_from_db()
    assert plan.status == "active"
    assert plan.next_charge_at == utc(2026, 7, 8, 9)


def test_a_success_in_between_resets_the_failure_count(make_plan, eur_rate):
    start = utc(2026, 2, 1, 0, 30)
    with time_machine.travel(start, tick=False):
        plan = make_plan(frequency="daily")
    outcomes = []
    for day, fresh in enumerate([False, False, True, False, False]):
        with time_machine.travel(start + timedelta(days=day, minutes=10), tick=False):
            (make_fx_fresh if fresh else make_fx_stale)(eur_rate)
            plans_charge_due()
        plan.refresh_from_db()
        outcomes.append(plan.consecutive_failures)
    assert outcomes == [1, 2, 0, 1, 2]
    assert plan.status == "active"
    assert plan.charges_count == 1
    assert plan.last_failure_code == "fx_unavailable"


def test_a_disabled_merchant_fails_the_charge(make_plan, merchant, eur_rate):
    plan = make_plan()
    merchant.disabled = True
    merchant.save()
    summary = plans_charge_due()
    assert summary.failed == 1
    charge = plan.charges.get()
    assert charge.failure_code == "merchant_not_ready"
    plan.refresh_from_db()
    assert plan.consecutive_failures == 1


def test_partner_limits_changed_after_creation_fail_the_charge(
    make_plan, partner, eur_rate
):
    plan = make_plan(fiat_amount_int=2500)
    partner.min_fiat_per_request = 5000
    partner.save()
    plans_charge_due()
    assert plan.charges.get().failure_code == "amount_below_minimum"


def test_a_currency_switched_off_after_creation_fails_the_charge(
    make_plan, partner, eur_rate
):
    plan = make_plan()
    partner.enabled_currencies = ["USD"]
    partner.default_currency = "USD"
    partner.save()
    plans_charge_due()
    assert plan.charges.get().failure_code == "unsupported_currency"


def test_an_unexpected_error_is_recorded_and_does_not_stop_the_run(make_plan, eur_rate):
    broken = make_plan()
    healthy = make_plan()
    # Data no create path can produce: metadata that is not an object.
    Plan.objects.filter(pk=broken.pk).update(metadata=["not", "an", "object"])
    summary = plans_charge_due()
    assert (summary.charged, summary.failed) == (1, 1)
    assert healthy.charges.get().status == "created"
    charge = broken.charges.get()
    assert (charge.status, charge.failure_code) == ("failed", "api_error")
    broken.refresh_from_db()
    assert broken.consecutive_failures == 1
    assert broken.next_charge_at > timezone.now()


def test_a_database_error_leaves_the_slot_due_for_the_next_run(make_plan, eur_rate):
    # A real lock timeout: another session holds the D15 address lock while the
    # job waits on it. Recorded as api_error, the slot was never tried again
    # (the customer was simply not billed) and counted towards the pause.
    start = utc(2026, 3, 10, 10)
    with time_machine.travel(start, tick=False):
        plan = make_plan(frequency="monthly")
    address = to_checksum_address(plan.merchant.wallet_address)
    params = connection.get_connection_params()
    with psycopg.connect(**params, autocommit=True) as other:
        other.execute(
            "SELECT pg_advisory_lock(%s, hashtext(%s))", [AMOUNT_LOCK_CLASS, address]
        )
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '200ms'")
        try:
            summary = run_at(start + timedelta(hours=1))
        finally:
            with connection.cursor() as cursor:
                cursor.execute("RESET lock_timeout")
    assert (summary.charged, summary.failed, summary.skipped) == (0, 0, 1)
    assert not plan.charges.exists()
    plan.refresh_from_db()
    assert (plan.next_charge_at, plan.consecutive_failures) == (start, 0)
    assert run_at(start + timedelta(hours=2)).charged == 1
    assert [c.slot for c in plan.charges.all()] == [0]


def test_a_plan_that_cannot_even_be_recorded_is_skipped_without_looping(
    make_plan, eur_rate
):
    broken = make_plan()
    healthy = make_plan()
    Plan.objects.filter(pk=broken.pk).update(frequency="yearly")
    summary = plans_charge_due()
    assert (summary.charged, summary.skipped) == (1, 1)
    assert not broken.charges.exists()
    assert healthy.charges.count() == 1


# --- max_charges ----------------------------------------------------------------------


def test_reaching_max_charges_completes_the_plan(make_plan, eur_rate, api):
    start = utc(2026, 9, 1, 12)
    with time_machine.travel(start, tick=False):
        plan = make_plan(frequency="daily", max_charges=2)
    assert run_at(start).completed == 0
    summary = run_at(start + timedelta(days=1))
    assert summary.completed == 1
    plan.refresh_from_db()
    assert plan.status == "completed"
    assert plan.charges_count == 2
    assert plan.next_charge_at is None
    assert plan.completed_at is not None
    assert run_at(start + timedelta(days=5)).charged == 0
    assert plan.charges.count() == 2
    # D29/D35: actions on a completed plan → plan_already_terminated.
    answer = api.post(f"/api/v1/recurring/plans/{plan.pk}/resume")
    assert answer.json()["error"] == "plan_already_terminated"


def test_failed_charges_do_not_count_towards_max_charges(make_plan, eur_rate):
    start = utc(2026, 9, 1, 12)
    with time_machine.travel(start, tick=False):
        plan = make_plan(frequency="daily", max_charges=1)
        make_fx_stale(eur_rate)
        plans_charge_due()
    with time_machine.travel(start + timedelta(days=1), tick=False):
        make_fx_fresh(eur_rate)
        plans_charge_due()
    plan.refresh_from_db()
    assert plan.status == "completed"
    assert [c.status for c in plan.charges.order_by("slot")] == ["failed", "created"]


# --- batches and budget ---------------------------------------------------------------


def test_batches_cover_every_due_plan_oldest_first(make_plan, eur_rate):
    by_due = {}
    for minute in (5, 0, 6, 2, 1, 4, 3):  # created out of due order
        with time_machine.travel(utc(2026, 4, 1, 10, minute), tick=False):
            by_due[minute] = make_plan(frequency="daily")
    with time_machine.travel(utc(2026, 4, 1, 11), tick=True):
        summary = plans_charge_due(batch_size=3)
    assert summary.charged == 7
    order = list(
        Charge.objects.order_by("created_at").values_list("plan_id", flat=True)
    )
    assert order == [by_due[m].pk for m in range(7)]


def test_small_batches_still_reach_every_plan(make_plan, eur_rate):
    for _ in range(5):
        make_plan()
    summary = plans_charge_due(batch_size=2)
    assert summary.charged == 5


def test_an_exhausted_budget_leaves_the_rest_for_the_next_run(make_plan, eur_rate):
    for _ in range(3):
        make_plan()
    summary = plans_charge_due(budget_seconds=0)
    assert summary.out_of_time is True
    assert summary.charged == 0
    assert plans_charge_due().charged == 3


def test_summary_line_is_one_line(make_plan, eur_rate):
    make_plan()
    line = plans_charge_due().line()
    assert "\n" not in line
    assert line.startswith("charged=1 failed=0 paused=0 completed=0 skipped=0")


@pytest.mark.parametrize("frequency", ["daily", "weekly", "monthly"])
def test_next_charge_is_strictly_after_now_even_exactly_on_a_slot(
    make_plan, eur_rate, frequency
):
    start = utc(2026, 1, 31, 10)
    with time_machine.travel(start, tick=False):
        plan = make_plan(frequency=frequency)
        plans_charge_due()
    plan.refresh_from_db()
    assert plan.next_charge_at > start
