"""Times on the wire (D1): ``iso`` writes them, ``parse_instant`` reads the caller's.

Every time a caller sends (``created_after``/``created_before``, the operator
commands' ``--expires-at`` and ``--now``) goes through ``parse_instant``; every
time JoPay writes goes through ``iso``. Both are total: any text either reads as
one UTC instant or raises ``ValueError`` (the callers' ``invalid_request`` or
usage error), never ``OverflowError`` or anything else that became a 500.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from jopay_project.formats import iso, parse_instant

D1 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
OFFSETS = st.integers(-(24 * 60 - 1), 24 * 60 - 1).map(
    lambda m: timezone(timedelta(minutes=m))
)
# Hypothesis takes naive bounds and adds the zones itself.
INSTANTS = st.datetimes(
    min_value=datetime(1, 1, 2),  # noqa: DTZ001
    max_value=datetime(9999, 12, 30),  # noqa: DTZ001
    timezones=OFFSETS,
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- iso ------------------------------------------------------------------------


def test_iso_writes_four_year_digits():
    # strftime("%Y") wrote "1-01-01T…" and "999-12-31T…" on Linux.
    assert iso(utc(1, 1, 1)) == "0001-01-01T00:00:00.000Z"
    assert iso(utc(999, 12, 31, 23, 59, 59, 999999)) == "0999-12-31T23:59:59.999Z"


def test_iso_reads_a_naive_time_as_utc_not_the_server_zone(monkeypatch):
    import time

    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        naive = datetime(2026, 4, 17, 17)  # noqa: DTZ001 (the case under test)
        assert iso(naive) == "2026-04-17T17:00:00.000Z"
    finally:
        monkeypatch.undo()
        time.tzset()


@settings(max_examples=500, deadline=None)
@given(INSTANTS)
def test_iso_is_d1_and_reads_back_to_the_millisecond(dt):
    text = iso(dt)
    assert D1.match(text)
    back = parse_instant(text)
    assert back == dt.astimezone(UTC).replace(microsecond=dt.microsecond // 1000 * 1000)


# --- parse_instant ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "instant"),
    [
        ("2026-04-17T17:00:00.000Z", utc(2026, 4, 17, 17)),
        ("2026-04-17T17:00:00", utc(2026, 4, 17, 17)),  # no offset: UTC (D1)
        ("2026-04-17T19:00:00+02:00", utc(2026, 4, 17, 17)),
        ("2026-04-17T17:00:00-00:00", utc(2026, 4, 17, 17)),
        ("2026-04-17", utc(2026, 4, 17)),
        ("20260417T170000Z", utc(2026, 4, 17, 17)),  # basic format
        ("2026-W16-5", utc(2026, 4, 17)),  # week date
        ("2026-W16-5T17:00Z", utc(2026, 4, 17, 17)),
        ("2026-04-17t17:00:00z", utc(2026, 4, 17, 17)),  # RFC 3339's lower case
        ("20260417T170000,5+0200", utc(2026, 4, 17, 15, 0, 0, 500000)),
        # A leap second (RFC 3339, ISO 8601) is the next second's start, as
        # PostgreSQL reads it; fromisoformat refused it.
        ("2016-12-31T23:59:60Z", utc(2017, 1, 1)),
        ("2016-12-31T23:59:60.5Z", utc(2017, 1, 1, 0, 0, 0, 500000)),
        ("2017-01-01T05:29:60+05:30", utc(2017, 1, 1)),
        ("20161231T235960Z", utc(2017, 1, 1)),
        # ISO 8601's end of day.
        ("2026-12-31T24:00:00Z", utc(2027, 1, 1)),
        ("2026-12-31T24:00Z", utc(2027, 1, 1)),
        ("2026-12-31T24:00:00.000+01:00", utc(2026, 12, 31, 23)),
        # Finer than a microsecond: rounded up (stored times are whole µs).
        ("2026-04-17T17:00:00.1234560Z", utc(2026, 4, 17, 17, 0, 0, 123456)),
        ("2026-04-17T17:00:00.1234561Z", utc(2026, 4, 17, 17, 0, 0, 123457)),
        ("2026-04-17T17:00:00.999999999Z", utc(2026, 4, 17, 17, 0, 1)),
        # The extremes a UTC time can hold.
        ("0001-01-01T00:00:00Z", utc(1, 1, 1)),
        ("0001-01-01T00:00:00-01:00", utc(1, 1, 1, 1)),
        ("9999-12-31T23:59:59.999999Z", utc(9999, 12, 31, 23, 59, 59, 999999)),
        ("9999-12-31T23:59:59+05:00", utc(9999, 12, 31, 18, 59, 59)),
    ],
)
def test_parse_instant_reads_iso_8601_as_utc(text, instant):
    parsed = parse_instant(text)
    assert parsed == instant
    assert parsed.tzinfo is UTC


@pytest.mark.parametrize(
    "text",
    [
        "",
        "yesterday",
        "2026-13-01",
        "2026-02-30",
        "2026-340",  # ordinal dates are not promised (docs/site/index.md)
        "2026-12-31T24:00:01Z",  # only 24:00:00 is the end of day
        "2026-12-31T23:59:61Z",
        "2026-12-31T23:60:00Z",
        "2026-04-17T17:00:00+24:00",
        # Past what a UTC time can hold: OverflowError before (a 500 in a
        # command's output; a row Python could not read back).
        "9999-12-31T23:59:59-05:00",
        "9999-12-31T23:59:59-23:59",
        "9999-12-31T24:00:00Z",
        "9999-12-31T23:59:60Z",
        "9999-12-31T23:59:59.9999999Z",
        "0001-01-01T00:00:00+00:01",
        "10000-01-01T00:00:00Z",
    ],
)
def test_parse_instant_refuses_with_value_error(text):
    with pytest.raises(ValueError, match=r"\S"):
        parse_instant(text)


@settings(max_examples=1000, deadline=None)
@given(INSTANTS)
def test_every_isoformat_reads_back_exactly(dt):
    assert parse_instant(dt.isoformat()) == dt
    assert parse_instant(dt.isoformat().replace("+00:00", "Z")) == dt


@settings(max_examples=2000, deadline=None)
@given(
    st.one_of(
        st.text(max_size=40),
        st.from_regex(
            r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}"
            r"(\.[0-9]{1,12})?(Z|[+-][0-9]{2}:[0-9]{2})?\Z"
        ),
    )
)
def test_parse_instant_is_total_any_text_is_an_instant_or_value_error(text):
    try:
        parsed = parse_instant(text)
    except ValueError:
        return
    assert parsed.tzinfo is UTC
    assert D1.match(iso(parsed))
