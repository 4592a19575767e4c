"""Outbox state changes of one send (D24): claim, record, sweep, purge.

A worker *claims* a delivery with a conditional UPDATE that only matches a
row that is ``pending``, due, and not leased by another worker; it takes a
lease (``locked_until``), counts the attempt and logs it (``claims``). Two
workers can therefore never send one delivery at the same time, a task that
runs twice finds nothing to claim the second time, and a worker killed
mid-send leaves a lease that simply runs out, after which the sweeper
enqueues the row again (same ``delivery_id``). That unfinished attempt still
counts as one of the D24 tries: after the last one the row is no longer
claimed, and the sweeper ends it ``failed`` (``deliveries_interrupted_fail``).
Which due rows go on the broker, and when, is ``dispatch``'s.
"""

from __future__ import annotations

import logging
import random
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from ..models import WebhookAttempt, WebhookDelivery
from . import claims
from .claims import INTERRUPTED, LEASE_SECONDS, Claim, tries_allowed
from .dispatch import due_delivery_ids, endpoint_next_ids
from .purge import events_purge
from .streak import RETRY_AFTER_CAP_SECONDS, endpoint_after_attempt

logger = logging.getLogger("jopay.webhooks")

# Retries at most this far off are also enqueued with a broker countdown; the
# sweeper is the only path for longer ones (D24: no long countdowns).
COUNTDOWN_MAX_SECONDS = 300

# The OS's randomness, not a seeded generator: one made in the Celery parent
# was copied into every prefork child, which then drew the same "jitter" and
# retried in step after an outage (D24: each its own ±10 %).
_jitter = random.SystemRandom()


def delivery_claim(*, delivery_id: str, now: datetime | None = None) -> Claim | None:
    """Lease a due pending delivery, or ``None`` if there is nothing to send.

    At most one concurrent caller gets it; the lease and the attempt's log row
    are committed before the caller does any network I/O (see ``claims``).
    """
    return claims.claim(delivery_id=delivery_id, now=now or timezone.now())


@dataclass(frozen=True)
class Verdict:
    """How one attempt ends, as D24 classifies it."""

    state: str  # WebhookDelivery.State
    abandoned_reason: str = ""
    retry_after: int | None = None  # seconds the receiver asked for (429/503)
    disable_endpoint: str = ""  # a WebhookEndpoint.DisabledReason, for 410
    # How it counts for the endpoint's failing streak: a 2xx ends it, a
    # failure starts or extends it, a send that never happened does neither.
    streak: str = "failure"  # "success" | "failure" | "none"

    @classmethod
    def delivered(cls) -> Verdict:
        return cls(state=WebhookDelivery.State.DELIVERED, streak="success")

    @classmethod
    def retry(cls, retry_after: int | None = None) -> Verdict:
        return cls(state=WebhookDelivery.State.PENDING, retry_after=retry_after)

    @classmethod
    def abandon(
        cls, reason: str, *, disable_endpoint: str = "", streak: str = "failure"
    ) -> Verdict:
        return cls(
            state=WebhookDelivery.State.ABANDONED,
            abandoned_reason=reason,
            disable_endpoint=disable_endpoint,
            streak=streak,
        )


def retry_delay(*, attempt: int, retry_after: int | None) -> float | None:
    """Seconds until the next try after failed try ``attempt``, or ``None`` when spent.

    ``JOPAY_WEBHOOK_RETRY_SCHEDULE[attempt-1]`` ±10 % jitter; a longer
    ``Retry-After`` wins (capped at a day) (D24).
    """
    schedule = settings.JOPAY_WEBHOOK_RETRY_SCHEDULE
    if attempt > len(schedule):
        return None
    delay = schedule[attempt - 1] * _jitter.uniform(0.9, 1.1)
    if retry_after is not None:
        delay = max(delay, min(retry_after, RETRY_AFTER_CAP_SECONDS))
    return delay


@dataclass(frozen=True)
class Recorded:
    state: str
    next_attempt_at: datetime | None
    countdown: float | None  # set when the caller should enqueue the retry itself
    endpoint_id: int | None = None
    # The attempt held its failing endpoint's one-attempt lease (``claims``):
    # the caller hands the endpoint on (``endpoint_next_ids``).
    probed: bool = False


def delivery_record(
    *,
    claim: Claim,
    verdict: Verdict,
    status_code: int | None,
    latency_ms: int | None,
    error: str,
    response_body: str,
    now: datetime | None = None,
    interrupted: bool = False,
) -> Recorded:
    """Write the attempt's result and the delivery's next state (``claims``).

    The delivery row changes only if this attempt still owns it (its attempt
    counter and lease are unchanged); a worker whose lease ran out while it
    waited, or whose delivery was resent or abandoned by a disable meanwhile,
    still logs its attempt but cannot overwrite the newer state. Also keeps the
    endpoint's failing streak (D24): a 2xx clears ``failing_since``, a failure
    starts it, and a streak older than ``JOPAY_WEBHOOK_DISABLE_AFTER_SECONDS``
    — or a 410 — disables the endpoint, abandoning its pending deliveries.
    ``interrupted``: the sweeper ending a try that never reported back; if the
    real answer came first (the write owns nothing), nothing else is touched.
    """
    now = now or timezone.now()
    state, next_at, countdown = verdict.state, None, None
    if state == WebhookDelivery.State.PENDING:
        delay = retry_delay(attempt=claim.attempt, retry_after=verdict.retry_after)
        if delay is None:
            state = WebhookDelivery.State.FAILED
        else:
            next_at = now + timedelta(seconds=delay)
            countdown = delay if delay <= COUNTDOWN_MAX_SECONDS else None
    changes: dict[str, Any] = {
        "state": str(state),
        "next_attempt_at": next_at,
        "last_status_code": status_code,
        "abandoned_reason": str(verdict.abandoned_reason),
        "delivered_at": now if state == WebhookDelivery.State.DELIVERED else None,
        "enqueued_at": next_at if countdown is not None else None,
    }
    attempt = {
        "status_code": status_code,
        "latency_ms": latency_ms,
        "error": error[:200],
        "response_body": response_body,
    }
    # A failure's result and what it does to the endpoint (a 410 abandons the
    # delivery and disables the endpoint, D24) commit together: a worker that
    # died between them left the endpoint enabled. A 2xx is one statement and
    # keeps its autocommit (the delivery benchmark's path).
    together = verdict.streak not in ("none", "success")
    with transaction.atomic() if together else nullcontext():
        if together:
            # Endpoint row first, as every endpoint-wide change (``claims``).
            claims.endpoint_lock(claim.endpoint_id)
        owned = claims.write_result(
            claim=claim,
            changes=changes,
            attempt=attempt,
            now=now,
            clear_streak=verdict.streak == "success",
            slow=_slow(latency_ms),
        )
        if not owned:
            countdown = None  # a newer attempt owns the row; it schedules itself
        switched_off = False
        if owned or not interrupted:
            switched_off = endpoint_after_attempt(claim=claim, verdict=verdict, now=now)
        if owned and state != WebhookDelivery.State.DELIVERED:
            if switched_off and state == WebhookDelivery.State.PENDING:
                # Its endpoint was just switched off (failing too long): the
                # delivery was abandoned with the others, not retried.
                countdown, next_at = None, None
                state = WebhookDelivery.State.ABANDONED
                verdict = Verdict.abandon(
                    WebhookDelivery.AbandonedReason.ENDPOINT_DISABLED
                )
            _log_failure(claim, state, verdict, status_code, error, next_at, now)
    return Recorded(
        state=state,
        next_attempt_at=next_at,
        countdown=countdown,
        endpoint_id=claim.endpoint_id,
        probed=claim.probed,
    )


def _slow(latency_ms: int | None) -> bool:
    """Whether an answer this late marks its endpoint slow (``claims``)."""
    limit_ms = settings.JOPAY_WEBHOOK_SLOW_SECONDS * 1000
    return latency_ms is not None and latency_ms >= limit_ms


def _log_failure(claim, state, verdict, status_code, error, next_at, now) -> None:
    """One line per attempt that did not deliver, for the operator (D24).

    Names the endpoint by id, never by URL: a partner's URL may carry a token.
    """
    answer = f"HTTP {status_code}" if status_code is not None else (error or "?")
    if state == WebhookDelivery.State.PENDING:
        outcome = f"retry in {int((next_at - now).total_seconds())} s"
    elif state == WebhookDelivery.State.FAILED:
        outcome = "failed: no tries left"
    else:
        outcome = f"abandoned: {verdict.abandoned_reason}"
    logger.warning(
        "webhook delivery %s attempt %d to endpoint %d: %s; %s",
        claim.delivery_id,
        claim.attempt,
        claim.endpoint_id,
        answer,
        outcome,
    )


def deliveries_interrupted_fail(
    *, now: datetime | None = None, limit: int = 1000
) -> int:
    """End as ``failed`` the deliveries whose last D24 try never reported back.

    A worker killed mid-send (SIGKILL, OOM, the hard time limit: no ``except``
    runs) leaves its attempt "interrupted" and its lease to run out. The claim
    sends such a row again only while tries remain, so a delivery whose worker
    keeps dying would stay ``pending`` for ever; here its unfinished last try
    is recorded as a failure through ``delivery_record``, which finds the
    schedule spent, marks it ``failed`` and extends the endpoint's failing
    streak. Ownership holds: the row moves only if that attempt still holds
    its lease. Returns how many such rows it found.
    """
    now = now or timezone.now()
    last_try = WebhookAttempt.objects.filter(
        delivery=OuterRef("pk"), number=OuterRef("attempts")
    ).values("pk")[:1]
    rows = (
        WebhookDelivery.objects.filter(
            state=WebhookDelivery.State.PENDING,
            next_attempt_at__lte=now,  # always true once claimed; the due index
            # One more lease of patience: a last try running late (a paused
            # worker, a pool without time limits) may still report back.
            locked_until__lte=now - timedelta(seconds=LEASE_SECONDS),
            attempts__gte=tries_allowed(),
        )
        .annotate(attempt_row_id=Subquery(last_try))
        .select_related("endpoint")
        .order_by("locked_until")[:limit]
    )
    found = 0
    for delivery in rows:
        claim = Claim(
            delivery_id=str(delivery.pk),
            attempt=delivery.attempts,
            attempt_row_id=delivery.attempt_row_id,
            payload=None,
            endpoint_id=delivery.endpoint_id,
            url=delivery.endpoint.url,  # where it was sent, unless changed since
            secrets=[],
            endpoint_enabled=delivery.endpoint.enabled,
            failing_since=delivery.endpoint.failing_since,
            lease=delivery.locked_until,
        )
        delivery_record(
            claim=claim,
            verdict=Verdict.retry(),
            status_code=None,
            latency_ms=None,
            error=INTERRUPTED,
            response_body="",
            now=now,
            interrupted=True,
        )
        found += 1
    return found


__all__ = [
    "INTERRUPTED",
    "LEASE_SECONDS",
    "Claim",
    "Recorded",
    "Verdict",
    "deliveries_interrupted_fail",
    "delivery_claim",
    "delivery_record",
    "due_delivery_ids",
    "endpoint_next_ids",
    "events_purge",
    "retry_delay",
]
