"""The two writes around every send: claim (lease) and result (D24).

Each has a PostgreSQL form that is one statement — one round trip, committed
without waiting for the WAL flush — and a portable ORM form for the embedded
SQLite default (D30). Both give the same guarantees:

* claim: a conditional UPDATE that matches only a ``pending``, due row
  without a live lease, so of any number of concurrent callers at most one
  gets it; it counts the attempt, takes the lease and writes the attempt's
  log row, and commits before any network I/O. A lease that ran out means
  its attempt never reported back (a killed worker); that attempt counts as
  one of the D24 tries, so such a row is claimed again only while tries
  remain (``outbox.deliveries_interrupted_fail`` ends it after the last).
* result: the attempt's outcome and the delivery's next state; the delivery
  row changes only while this attempt still owns it (its counter and its
  lease unchanged: a resend, a URL change or an endpoint disable clears the
  lease, so a late result of an attempt in flight only fills in its own
  log row). A failure moves it only while the endpoint still has the URL it
  was sent to: a claim that waited on the row while a URL change committed
  read the old URL (its statement's snapshot) yet holds a valid lease; its
  410 or 400 must not abandon what the new URL has not seen. That delivery
  is sent again, to the new URL, when the lease runs out. A log
  row takes one result: only while it still says ``INTERRUPTED``. A 2xx
  also moves a delivery that an endpoint disable abandoned while the send
  was in flight to ``delivered`` (the receiver has it), and ends the
  endpoint's failing streak here (D24) if the endpoint still has the URL it
  was sent to.

* one attempt at a time to a failing or slow endpoint: while the endpoint's
  failing streak runs (``failing_since`` set), or while its 2xx answers take
  ``JOPAY_WEBHOOK_SLOW_SECONDS`` or longer (``slow_since`` set, by the
  result of such a 2xx; a faster 2xx clears it), the claim also takes the
  endpoint's
  ``probe_until`` lease, and a claim that finds it held by a live attempt
  claims nothing (the delivery stays due: the attempt holding the lease
  hands the endpoint on when it ends, and the sweeper offers it too). A
  receiver that hangs for the whole timeout, or answers every POST with a
  2xx after 7 s, then holds one worker, not every worker of the pool, and
  the other partners' webhooks keep moving. A healthy endpoint takes no
  lease. The result gives it back (only its own), so does
  a claim that took it and then matched no delivery; a killed worker's runs
  out with its delivery lease. It changes when an attempt is sent, never how
  tries count (D24).

Relaxed commits (``synchronous_commit`` off, for these two writes only): a
database crash can forget the last fraction of a second of leases and
results. The worst outcome is that a delivery is sent once more with the same
``delivery_id`` — the at-least-once contract of D24. Events and new delivery
rows are written by ``event_emit`` in the caller's transaction with full
durability. Waiting for a WAL flush on each of these writes would cap a
worker process far below the throughput goal on an ordinary disk.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection

from jopay_project.sql import execute_prepared

from ..models import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent
from .claims_sql import CLAIM_SQL, RELEASE_SQL, RESULT_SQL

# A lease outlives the longest possible send (8 s timeout, 30 s hard task
# limit), so an attempt that is still running is never sent again in parallel.
LEASE_SECONDS = 60
INTERRUPTED = "no result recorded (worker stopped mid-send)"


@dataclass(frozen=True)
class Claim:
    """What a worker needs to send one attempt, read when claiming."""

    delivery_id: str
    attempt: int
    attempt_row_id: int
    payload: dict[str, Any] | None  # None once the event was purged
    endpoint_id: int
    url: str
    secrets: list[str]  # new first (D25)
    endpoint_enabled: bool
    failing_since: datetime | None
    # The lease this attempt took: its result moves the delivery row only while
    # the row still carries it (a resend, a URL change or an endpoint disable
    # clears it).
    lease: datetime
    # This attempt took its failing or slow endpoint's one-attempt lease: its
    # result gives it back and the caller hands the endpoint on.
    probed: bool = False

    @property
    def claimed_at(self) -> datetime:
        return self.lease - timedelta(seconds=LEASE_SECONDS)


def tries_allowed() -> int:
    """Tries the D24 schedule gives a delivery: the first, then one per step."""
    return len(settings.JOPAY_WEBHOOK_RETRY_SCHEDULE) + 1


def _tables() -> dict[str, str]:
    return {
        "delivery": WebhookDelivery._meta.db_table,
        "attempt": WebhookAttempt._meta.db_table,
        "endpoint": WebhookEndpoint._meta.db_table,
        "event": WebhookEvent._meta.db_table,
    }


@functools.cache
def _sql(template: str) -> str:
    """A statement below with the models' table names, formatted once per process
    (formatting 1–2 KB of SQL on every attempt was a measurable part of its
    client CPU)."""
    return template.format(**_tables())


def claim(*, delivery_id: str, now: datetime) -> Claim | None:
    """Lease a due pending delivery and log its attempt, or ``None``."""
    if connection.vendor == "postgresql":
        return _claim_postgresql(delivery_id=delivery_id, now=now)
    from . import claims_portable

    return claims_portable.claim(delivery_id=delivery_id, now=now)


def write_result(
    *,
    claim: Claim,
    changes: dict[str, Any],
    attempt: dict[str, Any],
    now: datetime,
    clear_streak: bool = False,
    slow: bool = False,
) -> bool:
    """Store the attempt's outcome and the delivery's ``changes``; ``True`` if owned.

    ``clear_streak`` (a 2xx): also end the endpoint's failing streak, whatever
    the claim saw. A failure recorded by another worker while this send was in
    flight may have started one; the 2xx came after it, so it ends it (D24).
    In the same statement, so a 2xx costs no extra round trip. With it,
    ``slow`` says whether that 2xx marks the endpoint slow or no longer slow.
    """
    if connection.vendor == "postgresql":
        return _result_postgresql(
            claim=claim,
            changes=changes,
            attempt=attempt,
            now=now,
            clear_streak=clear_streak,
            slow=slow,
        )
    from . import claims_portable

    return claims_portable.write_result(
        claim=claim,
        changes=changes,
        attempt=attempt,
        now=now,
        clear_streak=clear_streak,
        slow=slow,
    )


def endpoint_lock(endpoint_id: int) -> None:
    """Lock the endpoint row before a failure's result writes its delivery row.

    Every endpoint-wide change (a switch-off by the partner, staff, a 410 or
    the 5 days; a URL change) locks the endpoint, then its pending deliveries,
    and so does the claim. A failure on a healthy endpoint locked its delivery
    in ``write_result`` and the endpoint after it (the failing streak), so the
    two deadlocked and PostgreSQL aborted one: the partner's switch-off
    answered 500, or the receiver's answer was lost and sent again (D24).
    ``FOR NO KEY UPDATE``, what the streak's UPDATE takes anyway: an event
    being written (``KEY SHARE``, ``events``) is not waited for.
    """
    list(
        WebhookEndpoint.objects.select_for_update(no_key=True)
        .filter(pk=endpoint_id)
        .values_list("pk", flat=True)
    )


def _claim_postgresql(*, delivery_id: str, now: datetime) -> Claim | None:
    lease = now + timedelta(seconds=LEASE_SECONDS)
    row = execute_prepared(
        _sql(CLAIM_SQL),
        {
            "id": str(delivery_id),
            "now": now,
            "lease": lease,
            "interrupted": INTERRUPTED,
            "tries": tries_allowed(),
        },
    )
    attempt, attempt_row_id, payload, endpoint_id, url, secret, previous = row[:7]
    enabled, failing_since, probed = row[7:]
    if attempt is None:
        if probed is not None:
            execute_prepared(
                _sql(RELEASE_SQL),
                {"endpoint_id": probed, "lease": lease},
                fetch=False,
            )
        return None
    if isinstance(payload, str | bytes):  # Django hands jsonb over as text
        payload = json.loads(payload)
    return Claim(
        delivery_id=str(delivery_id),
        attempt=attempt,
        attempt_row_id=attempt_row_id,
        payload=payload,
        endpoint_id=endpoint_id,
        url=url,
        secrets=[s for s in (secret, previous) if s],
        endpoint_enabled=enabled,
        failing_since=failing_since,
        lease=lease,
        probed=probed is not None,
    )


def _result_postgresql(
    *,
    claim: Claim,
    changes: dict[str, Any],
    attempt: dict[str, Any],
    now: datetime,
    clear_streak: bool = False,
    slow: bool = False,
) -> bool:
    params = {
        "delivered_at": None,
        "enqueued_at": None,
        **changes,
        **attempt,
        "attempt_row_id": claim.attempt_row_id,
        "delivery_id": str(claim.delivery_id),
        "attempt": claim.attempt,
        "lease": claim.lease,
        "interrupted": INTERRUPTED,
        "now": now,
        "endpoint_id": claim.endpoint_id,
        "url": claim.url,
        "clear_streak": clear_streak,
        "slow": slow,
        "disabled_reason": WebhookDelivery.AbandonedReason.ENDPOINT_DISABLED,
    }
    _, moved, _ = execute_prepared(_sql(RESULT_SQL), params)
    return bool(moved)
