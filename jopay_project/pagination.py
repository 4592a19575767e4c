"""Keyset pagination for every v1 list (D2, D18, D34): cost independent of depth.

Lists are newest first, ordered by ``(created_at, id)`` descending. The cursor
is an opaque url-safe token holding the last row's ``created_at`` and ``id``;
the next page is ``WHERE (created_at, id) < (cursor)`` served by a
``(partner, test_mode, -created_at, -id)`` index, so page 10 000 costs what page
1 costs.
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.db.models import Q, QuerySet

from .errors import ErrorCode, JoPayError
from .parsers import load_json

DEFAULT_LIMIT = 50
MAX_LIMIT = 100
# A minted cursor is about 100 characters; anything far longer is not one.
MAX_CURSOR_LENGTH = 512


@dataclass(frozen=True)
class Page:
    items: list[Any]
    has_more: bool
    next_cursor: str | None

    def envelope(self, rendered: list[dict]) -> dict[str, Any]:
        return {
            "data": rendered,
            "has_more": self.has_more,
            "next_cursor": self.next_cursor,
        }


def parse_limit(raw: str | None) -> int:
    if raw is None or raw == "":
        return DEFAULT_LIMIT
    # ASCII digits only: ``int`` also takes " 5", "5_0" and "５", which the
    # docs (an integer 1 … 100) do not promise and no client means.
    value = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 3 else 0
    if not 1 <= value <= MAX_LIMIT:
        raise JoPayError(ErrorCode.INVALID_REQUEST, field="limit")
    return value


def encode_cursor(created_at: datetime, pk: Any) -> str:
    raw = json.dumps([created_at.isoformat(), str(pk)], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str) -> tuple[datetime, uuid.UUID]:
    """The ``(created_at, id)`` a cursor holds, else ``invalid_request`` (D34).

    Total over any input: the token is the caller's, so every failure (not
    base64, not JSON, not a two-item list of strings, a naive or out-of-range
    time, not a UUID) is the same ``invalid_request`` with ``field: "cursor"``.
    """
    value = _cursor_json(token)
    if not (
        isinstance(value, list)
        and len(value) == 2  # (created_at, id)
        and all(isinstance(part, str) for part in value)
    ):
        raise _bad_cursor()
    created_raw, pk_raw = value
    try:
        created_at = datetime.fromisoformat(created_raw)
        if created_at.utcoffset() is None:
            raise ValueError("naive")
        # In UTC, so a time the database cannot hold fails here, not in the query.
        return created_at.astimezone(UTC), uuid.UUID(pk_raw)
    except (ValueError, OverflowError):
        raise _bad_cursor() from None


def _cursor_json(token: Any) -> Any:
    if not isinstance(token, str) or not 0 < len(token) <= MAX_CURSOR_LENGTH:
        raise _bad_cursor()
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        return load_json(raw)
    except ValueError:  # binascii, JSON, Unicode and too-deep errors
        raise _bad_cursor() from None


def _bad_cursor() -> JoPayError:
    return JoPayError(ErrorCode.INVALID_REQUEST, field="cursor")


def keyset_page(queryset: QuerySet, *, limit: int, cursor: str | None) -> Page:
    """One page of ``queryset`` (already tenant-filtered), newest first."""
    qs = queryset.order_by("-created_at", "-id")
    if cursor:
        created_at, pk = decode_cursor(cursor)
        qs = qs.filter(
            Q(created_at__lt=created_at) | Q(created_at=created_at, id__lt=pk)
        )
        # The same rows; the redundant bound gives PostgreSQL an index range
        # (the OR alone is only a filter, so deep pages scanned every newer row).
        qs = qs.filter(created_at__lte=created_at)
    rows = list(qs[: limit + 1])
    has_more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(rows[-1].created_at, rows[-1].pk) if has_more else None
    return Page(items=rows, has_more=has_more, next_cursor=next_cursor)
