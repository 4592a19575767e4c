"""What one attempt's answer does to its endpoint (D24): the failing streak.

A 2xx ends the streak in the result's own statement (``claims``); everything
else is here, written in the failure result's transaction (``outbox``): a
failure starts or extends the streak, a 410 or a streak of 5 days disables
the endpoint, and a ``Retry-After`` holds it. Only an answer from the
endpoint as it is now counts.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from django.conf import settings
from django.db.models import Q

from ..models import WebhookAttempt, WebhookEndpoint
from .claims import Claim
from .endpoints import webhook_endpoint_disable

if TYPE_CHECKING:
    from .outbox import Verdict

# The longest wait a receiver's ``Retry-After`` gets, for one delivery
# (``outbox.retry_delay``) and for its endpoint (``_hold``).
RETRY_AFTER_CAP_SECONDS = 24 * 3600


def endpoint_after_attempt(*, claim: Claim, verdict: Verdict, now: datetime) -> bool:
    """What the answer does to the endpoint; ``True`` if it switched it off and
    abandoned pending deliveries (this one among them, if it was pending)."""
    # A 2xx ended the streak in the result's own statement (``clear_streak``),
    # also one a concurrent failure started after this claim was read.
    if verdict.streak in ("none", "success"):
        return False
    # Only an answer from the endpoint as it is now counts: one from a URL the
    # partner has since replaced, or sent before a disable and re-enable, says
    # nothing about it (a 410 from a retired URL disabled the new one).
    endpoints = WebhookEndpoint.objects.filter(
        Q(enabled_at__isnull=True) | Q(enabled_at__lte=claim.claimed_at),
        pk=claim.endpoint_id,
        url=claim.url,
    )
    if verdict.disable_endpoint:
        return (
            webhook_endpoint_disable(
                endpoint_id=claim.endpoint_id,
                reason=verdict.disable_endpoint,
                sent_to=claim.url,
                sent_at=claim.claimed_at,
            )
            > 0
        )
    if verdict.retry_after:
        _hold(endpoints, now=now, seconds=verdict.retry_after)
    if claim.failing_since is None:
        endpoints.filter(failing_since__isnull=True).update(failing_since=now)
        return False
    # A streak is failures in a row, not one failure days ago and silence
    # since (no events to send): after STREAK_GAP without a failed attempt
    # this failure starts a new one (D24, events.md). Checked whenever the
    # streak is older than the gap, not only once it reached the 5 days: a
    # 404 four days ago, two quiet days, then an outage, switched the
    # endpoint off after three days of it.
    if claim.failing_since <= now - STREAK_GAP and not _failed_lately(claim, now):
        endpoints.filter(failing_since=claim.failing_since).update(failing_since=now)
        return False
    limit = timedelta(seconds=settings.JOPAY_WEBHOOK_DISABLE_AFTER_SECONDS)
    if claim.failing_since <= now - limit:
        return (
            webhook_endpoint_disable(
                endpoint_id=claim.endpoint_id,
                reason=WebhookEndpoint.DisabledReason.FAILING,
                failing_since=claim.failing_since,  # still failing since then?
                sent_to=claim.url,
                sent_at=claim.claimed_at,
            )
            > 0
        )
    return False


def _hold(endpoints, *, now: datetime, seconds: int) -> None:
    """No attempt at the endpoint for ``seconds`` (a 429/5xx's ``Retry-After``).

    D24 honours ``Retry-After``; a receiver that says "busy, come back in 10
    minutes" means itself, not the one delivery that got the answer: its other
    due deliveries, sent back to back, each used up a try on the same answer.
    The failure starts (or extends) the endpoint's failing streak, and a
    failing endpoint takes one attempt at a time through its ``probe_until``
    lease (``claims``), so holding that lease holds them all;
    the sweeper offers the endpoint again once it runs out. Capped like the
    delivery's own delay (``retry_delay``). A 2xx (of an attempt already in
    flight) ends the streak and with it the hold; so do a URL change and a
    re-enable.
    """
    until = now + timedelta(seconds=min(seconds, RETRY_AFTER_CAP_SECONDS))
    endpoints.filter(Q(probe_until__isnull=True) | Q(probe_until__lt=until)).update(
        probe_until=until
    )


# Longer than the longest wait JoPay itself puts between two tries of a
# failing endpoint: a schedule step (15 h, ±10 %) or a ``Retry-After`` hold
# (a day, ``_hold``), plus the sweeper's lag. An endpoint that really keeps
# failing has failed again within it. At a day it was no longer than the
# hold: a receiver answering every try with a day's Retry-After failed just
# over a day after its last failure each time, and its streak restarted
# instead of switching it off after 5 days (D24).
STREAK_GAP = timedelta(seconds=RETRY_AFTER_CAP_SECONDS, hours=1)


def _failed_lately(claim: Claim, now: datetime) -> bool:
    """Whether another attempt at the endpoint failed in the last ``STREAK_GAP``."""
    return (
        WebhookAttempt.objects.filter(
            delivery__endpoint_id=claim.endpoint_id, started_at__gte=now - STREAK_GAP
        )
        .exclude(pk=claim.attempt_row_id)
        .exclude(status_code__gte=200, status_code__lt=300)
        .exists()
    )
