"""Charge slots of a recurring plan (D29, D35). Pure functions, UTC only.

Slot ``n`` of a plan is ``anchor + n periods``; slot 0 is the anchor itself, so
the first charge is due at creation (D35).

- ``daily`` and ``weekly`` add 1 or 7 days of 24 h (UTC has no DST, so a
  "day" is always 86 400 s).
- ``monthly`` keeps the anchor's day of the month and time of day and clamps
  to the month's last day: an anchor on Jan 31 gives Feb 28 (Feb 29 in a leap
  year), Mar 31, Apr 30, May 31 … Each slot is computed from the anchor, never
  from the previous slot, so one short month never drags later slots to the 28th.

Missed slots are skipped, never caught up (D29): after a charge, or on resume,
the next slot is the first one strictly after "now".
"""

from __future__ import annotations

import calendar
from datetime import UTC, datetime, timedelta
from enum import StrEnum


class Frequency(StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"
    MONTHLY = "monthly"


_FIXED_PERIODS = {
    Frequency.DAILY: timedelta(days=1),
    Frequency.WEEKLY: timedelta(days=7),
}
# D29: each charge's invoice expires after the shorter of 7 days and one period.
MAX_CHARGE_EXPIRY = timedelta(days=7)


def _utc(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("schedule times must be timezone-aware")
    return value.astimezone(UTC)


def _add_months(anchor: datetime, months: int) -> datetime:
    index = anchor.year * 12 + (anchor.month - 1) + months
    year, month = divmod(index, 12)
    month += 1
    day = min(anchor.day, calendar.monthrange(year, month)[1])
    return anchor.replace(year=year, month=month, day=day)


def slot_at(anchor: datetime, frequency: str, n: int) -> datetime:
    """The due time (UTC) of slot ``n`` (0-based; slot 0 is ``anchor``)."""
    if n < 0:
        raise ValueError("slot numbers start at 0")
    anchor = _utc(anchor)
    freq = Frequency(frequency)
    if freq is Frequency.MONTHLY:
        return _add_months(anchor, n)
    return anchor + n * _FIXED_PERIODS[freq]


def latest_slot_at_or_before(
    anchor: datetime, frequency: str, when: datetime
) -> int | None:
    """The largest ``n`` with ``slot_at(n) <= when``; None when ``when`` < anchor."""
    anchor, when = _utc(anchor), _utc(when)
    if when < anchor:
        return None
    freq = Frequency(frequency)
    if freq is Frequency.MONTHLY:
        # Whole calendar months between the two, then correct by at most one:
        # the clamped day/time of the estimated slot may still lie after ``when``.
        n = (when.year - anchor.year) * 12 + (when.month - anchor.month)
        while n > 0 and slot_at(anchor, freq, n) > when:
            n -= 1
        while slot_at(anchor, freq, n + 1) <= when:
            n += 1
        return n
    return (when - anchor) // _FIXED_PERIODS[freq]


def next_slot_after(anchor: datetime, frequency: str, when: datetime) -> int:
    """The smallest ``n`` with ``slot_at(n) > when`` (strictly after: D29 skip rule)."""
    latest = latest_slot_at_or_before(anchor, frequency, when)
    return 0 if latest is None else latest + 1


def charge_expiry(frequency: str, due_at: datetime) -> timedelta:
    """How long a charge's invoice stays payable: min(7 days, one period) (D29).

    For monthly plans one period is at least 28 days, so always 7 days; daily
    gives 86 400 s, inside the invoice bounds (3 600 … 7 776 000 s, D11).
    """
    freq = Frequency(frequency)
    if freq is Frequency.MONTHLY:
        period = _add_months(_utc(due_at), 1) - _utc(due_at)
    else:
        period = _FIXED_PERIODS[freq]
    return min(MAX_CHARGE_EXPIRY, period)


def charge_too_late(frequency: str, due_at: datetime, now: datetime) -> bool:
    """Whether a slot's invoice would already have expired had it been on time.

    D29: missed slots are skipped, never caught up. The job runs hourly, so a
    slot is normally charged within the hour; one the job missed (it was not
    running, the partner was inactive, the plan was resumed) is still charged
    while its invoice would be payable, ``charge_expiry`` from ``due_at``. An
    older one would land beside the next period's invoice: it is skipped.
    """
    return now >= due_at + charge_expiry(frequency, due_at)
