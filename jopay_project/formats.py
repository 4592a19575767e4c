"""Wire formats shared by every API surface (D1)."""

from __future__ import annotations

from datetime import UTC, datetime


def iso(dt: datetime | None) -> str | None:
    """UTC ISO 8601 with milliseconds and ``Z``: ``2026-04-17T17:00:00.000Z``."""
    if dt is None:
        return None
    dt = dt.astimezone(UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"
