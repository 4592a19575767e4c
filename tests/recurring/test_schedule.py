"""Slot math (D29, D35): anchor + n periods in UTC, monthly clamped to month's end."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from recurring.schedule import (
    charge_expiry,
    latest_slot_at_or_before,
    next_slot_after,
    slot_at,
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_slot_zero_is_the_anchor_for_every_frequency():
    anchor = utc(2026, 4, 17, 17, 0, 0, 123000)
    for frequency in ("daily", "weekly", "monthly"):
        assert slot_at(anchor, frequency, 0) == anchor


def test_daily_and_weekly_add_whole_days_in_utc():
    anchor = utc(2026, 3, 28, 23, 30)
    assert slot_at(anchor, "daily", 1) == utc(2026, 3, 29, 23, 30)
    assert slot_at(anchor, "daily", 4) == utc(2026, 4, 1, 23, 30)
    assert slot_at(anchor, "weekly", 1) == utc(2026, 4, 4, 23, 30)
    assert slot_at(anchor, "weekly", 52) == anchor + timedelta(days=364)


def test_dst_changes_in_a_local_zone_do_not_move_utc_slots():
    # 2026-03-29 is the EU switch to summer time; a CET anchor is read as UTC.
    cet = timezone(timedelta(hours=1))
    anchor = datetime(2026, 3, 28, 12, 0, tzinfo=cet)
    assert slot_at(anchor, "daily", 1) == utc(2026, 3, 29, 11, 0)
    assert slot_at(anchor, "daily", 1).tzinfo == UTC


def test_monthly_from_jan_31_clamps_each_month_from_the_anchor_day():
    anchor = utc(2027, 1, 31, 10, 0)
    got = [slot_at(anchor, "monthly", n) for n in range(13)]
    assert got == [
        utc(2027, 1, 31, 10),
        utc(2027, 2, 28, 10),
        utc(2027, 3, 31, 10),
        utc(2027, 4, 30, 10),
        utc(2027, 5, 31, 10),
        utc(2027, 6, 30, 10),
        utc(2027, 7, 31, 10),
        utc(2027, 8, 31, 10),
        utc(2027, 9, 30, 10),
        utc(2027, 10, 31, 10),
        utc(2027, 11, 30, 10),
        utc(2027, 12, 31, 10),
        utc(2028, 1, 31, 10),
    ]


def test_monthly_reaches_feb_29_in_a_leap_year_and_feb_28_otherwise():
    anchor = utc(2027, 11, 30, 8, 15)
    assert slot_at(anchor, "monthly", 3) == utc(2028, 2, 29, 8, 15)  # 2028 is leap
    assert slot_at(anchor, "monthly", 15) == utc(2029, 2, 28, 8, 15)
    assert slot_at(anchor, "monthly", 4) == utc(2028, 3, 30, 8, 15)  # back to the 30th


def test_monthly_from_feb_29_keeps_the_29th_and_falls_back_to_the_28th():
    anchor = utc(2028, 2, 29)
    assert slot_at(anchor, "monthly", 1) == utc(2028, 3, 29)
    assert slot_at(anchor, "monthly", 12) == utc(2029, 2, 28)
    assert slot_at(anchor, "monthly", 48) == utc(2032, 2, 29)


def test_monthly_crosses_the_year_boundary():
    anchor = utc(2026, 12, 15, 23, 59, 59)
    assert slot_at(anchor, "monthly", 1) == utc(2027, 1, 15, 23, 59, 59)
    assert slot_at(anchor, "monthly", 25) == utc(2029, 1, 15, 23, 59, 59)


@pytest.mark.parametrize("frequency", ["daily", "weekly", "monthly"])
def test_latest_slot_and_next_slot_agree_with_slot_at(frequency):
    anchor = utc(2028, 1, 31, 6, 0)
    for n in range(40):
        due = slot_at(anchor, frequency, n)
        # Exactly at a slot: that slot is the latest; the next is strictly after.
        assert latest_slot_at_or_before(anchor, frequency, due) == n
        assert next_slot_after(anchor, frequency, due) == n + 1
        # One microsecond before: still the previous slot.
        before = due - timedelta(microseconds=1)
        expected_before = n - 1 if n else None
        assert latest_slot_at_or_before(anchor, frequency, before) == expected_before
        assert next_slot_after(anchor, frequency, before) == n


def test_before_the_anchor_there_is_no_slot_and_the_next_is_slot_zero():
    anchor = utc(2026, 5, 1)
    assert latest_slot_at_or_before(anchor, "monthly", utc(2026, 4, 30)) is None
    assert next_slot_after(anchor, "monthly", utc(2026, 4, 30)) == 0


def test_missed_slots_are_skipped_not_caught_up():
    anchor = utc(2027, 1, 31, 10)
    # Three months later, between the Apr 30 and May 31 slots: next is May 31.
    now = utc(2027, 5, 2)
    n = next_slot_after(anchor, "monthly", now)
    assert n == 4
    assert slot_at(anchor, "monthly", n) == utc(2027, 5, 31, 10)
    # Same day as a clamped slot, but before its time of day.
    assert latest_slot_at_or_before(anchor, "monthly", utc(2027, 2, 28, 9, 59)) == 0
    assert latest_slot_at_or_before(anchor, "monthly", utc(2027, 2, 28, 10)) == 1


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        slot_at(datetime(2026, 1, 1), "daily", 1)  # noqa: DTZ001


def test_unknown_frequency_and_negative_slot_are_refused():
    with pytest.raises(ValueError, match="biweekly"):
        slot_at(utc(2026, 1, 1), "biweekly", 1)
    with pytest.raises(ValueError, match="start at 0"):
        slot_at(utc(2026, 1, 1), "daily", -1)


def test_charge_expiry_is_the_shorter_of_seven_days_and_one_period():
    assert charge_expiry("daily", utc(2026, 1, 1)) == timedelta(days=1)
    assert charge_expiry("weekly", utc(2026, 1, 1)) == timedelta(days=7)
    assert charge_expiry("monthly", utc(2027, 2, 28)) == timedelta(days=7)
