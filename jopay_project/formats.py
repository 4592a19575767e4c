"""Wire formats shared by every API surface (D1): reading ids, and times."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

# A time's seconds written as 60 (a leap second, RFC 3339 / ISO 8601) or its hour
# as 24 (ISO 8601's end of day, ``T24:00``): after the date (extended or basic,
# calendar or week) and the separator.
_DATE = r"[0-9]{4}-?(?:W[0-9]{2}-?[0-9]|[0-9]{2}-?[0-9]{2})[T ]"
_LEAP_SECOND = re.compile(rf"^({_DATE}[0-9]{{2}}:?[0-9]{{2}}:?)60(?![0-9])")
_END_OF_DAY = re.compile(rf"^({_DATE})24((?::?00){{0,2}}(?:[.,]0+)?)(?=[Zz+-]|$)")
# The time's fraction of a second when finer than a microsecond: only digits and
# colons lie between the separator and it, so an offset's fraction never matches.
_FINE_FRACTION = re.compile(r"^([^T ]*[T ][0-9:]*[0-9][.,][0-9]{6})([0-9]+)")


def iso(dt: datetime | None) -> str | None:
    """UTC ISO 8601 with milliseconds and ``Z``: ``2026-04-17T17:00:00.000Z``.

    Always four year digits (``0999-…``, not ``999-…``). A naive time is read as
    UTC (D1), never as the server's local zone.
    """
    if dt is None:
        return None
    dt = dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)
    return (
        f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}T"
        f"{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}."
        f"{dt.microsecond // 1000:03d}Z"
    )


def parse_instant(text: str) -> datetime:
    """An ISO 8601 date or date-time the caller sent, as an aware UTC ``datetime``.

    Accepts what ``datetime.fromisoformat`` reads (calendar and week dates, basic
    or extended, an optional offset; none means UTC, D1), plus the forms ISO 8601
    and RFC 3339 allow that it refuses: lower-case ``t`` and ``z``, a leap second
    (``23:59:60``, read as the next second's start, as PostgreSQL reads it) and
    ``T24:00`` (the next day's midnight). Digits after the sixth of a fraction
    are rounded up to the next microsecond: stored times are whole microseconds,
    so an inclusive lower bound (``created_after``) and an exclusive upper bound
    (``created_before``) then select exactly the rows at or after, and before,
    the instant written.

    Raises ``ValueError`` for anything else, and for an instant outside what a
    UTC time can hold (0001-01-01 … 9999-12-31, e.g. ``9999-12-31T23:00-05:00``).
    """
    given = text.strip()
    # RFC 3339 allows a lower-case "t" and "z"; fromisoformat does not.
    text = given.upper()
    extra = timedelta(0)
    fine = _FINE_FRACTION.search(text)
    if fine:
        if fine.group(2).strip("0"):
            extra += timedelta(microseconds=1)
        text = fine.group(1) + text[fine.end() :]
    leap = _LEAP_SECOND.match(text)
    if leap:
        text = leap.group(1) + "59" + text[leap.end() :]
        extra += timedelta(seconds=1)
    end_of_day = _END_OF_DAY.match(text)
    if end_of_day:
        text = end_of_day.group(1) + "00" + text[end_of_day.end(1) + 2 :]
        extra += timedelta(days=1)
    try:
        parsed = datetime.fromisoformat(text)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=UTC)
        return parsed.astimezone(UTC) + extra
    except OverflowError:
        raise ValueError(f"{given!r} is outside 0001-01-01 … 9999-12-31 UTC") from None


# D1: 8-4-4-4-12 hex digits. Upper-case hex is the same id (RFC 9562 §4: UUIDs
# are "case insensitive on input"); D1 says how ids are written, not read.
_HEX = "[0-9a-fA-F]"
_UUID = re.compile(rf"{_HEX}{{8}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{4}}-{_HEX}{{12}}")


def parse_uuid_text(value: object) -> uuid.UUID:
    """An id a caller sent (path, body, query) as a ``UUID``: the one parser.

    Only the canonical spelling is read. ``uuid.UUID`` alone also reads
    ``{…}``, ``urn:uuid:…``, ``uuid:…``, 32 bare hex digits and hyphens
    anywhere, so one id had many URLs and bodies. Raises ``ValueError`` for
    anything else, a non-string included.
    """
    if not isinstance(value, str) or not _UUID.fullmatch(value):
        raise ValueError(f"not a UUID: {value!r}")
    return uuid.UUID(value)


def wait_in_words(seconds: int) -> str:
    """A ``Retry-After`` for a person: "1 second", "40 seconds", "about 12 minutes".

    The pay page (``static/pay/format.js`` waitInWords, kept equal) and the
    429 page of the public pages use it.
    """
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = -(-seconds // 60)  # rounded up: never sooner than the limiter
    return f"about {minutes} minute{'s' if minutes != 1 else ''}"
