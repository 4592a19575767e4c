"""One webhook attempt: claim → check → sign → POST → classify → record (D24–D26).

The network call (``posting.post``) happens between two short database
statements and never inside a transaction, through ``transport.session()``,
whose connections open only to the addresses the D26 check approved for the
send at hand.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from jopay_project.tasks import publish_saved

from . import signing, urlsafety
from .models import WebhookDelivery, WebhookEndpoint

# ``post`` is looked up here at each attempt (tests replace it); the HTTP side
# of an attempt, its limits and ``HttpResult`` live in ``posting``.
from .posting import HttpResult, post
from .services.outbox import (
    Claim,
    Recorded,
    Verdict,
    delivery_claim,
    delivery_record,
    endpoint_next_ids,
)

logger = logging.getLogger("jopay.webhooks")


def build_body(payload: dict[str, Any], delivery_id: str) -> bytes:
    """The event payload plus ``delivery_id`` as compact UTF-8 JSON (§6.4, D23)."""
    doc = {"event": payload.get("event"), "delivery_id": delivery_id}
    doc.update((k, v) for k, v in payload.items() if k not in doc)
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()


def classify(result: HttpResult) -> Verdict:
    """D24: 2xx delivered; timeout/conn/5xx/429 retry; 3xx/4xx abandon; 410 disables."""
    code = result.status_code
    reasons = WebhookDelivery.AbandonedReason
    if code is None:
        return Verdict.retry()
    if 200 <= code < 300:
        return Verdict.delivered()
    if 300 <= code < 400:
        return Verdict.abandon(reasons.REDIRECT)
    if code == 410:
        return Verdict.abandon(
            reasons.GONE, disable_endpoint=WebhookEndpoint.DisabledReason.GONE
        )
    if code == 429 or code >= 500:
        return Verdict.retry(result.retry_after)
    if 400 <= code < 500:
        return Verdict.abandon(reasons.CLIENT_ERROR)
    return Verdict.retry()  # 1xx as a final answer: a broken receiver, try again


@dataclass(frozen=True)
class _Outcome:
    """How one claimed attempt ended, before it is recorded."""

    verdict: Verdict
    status_code: int | None = None
    latency_ms: int | None = None
    error: str = ""
    body: str = ""
    sent: bool = True  # False: ended before any POST (``deliver`` returns None)


def deliver(*, delivery_id: str) -> Recorded | None:
    """Send one attempt of a due pending delivery; ``None`` if nothing was sent.

    Safe to call any number of times, from any number of workers: only the
    caller that claims the row sends, and a delivered row is never claimed
    again. Every claimed attempt leaves a ``WebhookAttempt`` row, and every
    attempt that gets this far records its result: an unexpected error after
    the claim (a bug, Celery's soft time limit) is a retryable failure, so the
    D24 schedule, ``failed`` and the endpoint's failing streak apply to it.
    """
    claim = delivery_claim(delivery_id=delivery_id)
    if claim is None:
        return None
    try:
        outcome = _attempt(claim)
    except Exception as exc:
        # Left unrecorded, the attempt kept its "no result" row, its lease ran
        # out and the sweeper sent it again every minute for ever: never
        # ``failed``, the endpoint never failing (D24). Only the type is kept:
        # a message may quote the URL or the payload. The result is written
        # outside this ``try``, so it is never written twice.
        logger.exception(
            "webhook delivery %s attempt %d crashed", claim.delivery_id, claim.attempt
        )
        outcome = _Outcome(
            Verdict.retry(), error=f"internal error: {type(exc).__name__}"[:100]
        )
    recorded = delivery_record(
        claim=claim,
        verdict=outcome.verdict,
        status_code=outcome.status_code,
        latency_ms=outcome.latency_ms,
        error=outcome.error,
        response_body=outcome.body,
    )
    if recorded.probed:
        _hand_on(recorded.endpoint_id)
    return recorded if outcome.sent else None


def _hand_on(endpoint_id: int) -> None:
    """The attempt held its failing endpoint's one-attempt lease (``claims``),
    sent or not: put the endpoint's next due row on the broker now (every due
    row if it answered 2xx), rather than leave it to the sweeper."""
    from .tasks import webhook_delivery_send_task

    # The attempt's result is saved: a broker outage is logged (once, then
    # skipped while it lasts), not raised; the sweeper offers these rows.
    for next_id in endpoint_next_ids(endpoint_id=endpoint_id):
        publish_saved(webhook_delivery_send_task, next_id)


def _unsent(reason: str, error: str) -> _Outcome:
    # Ended without a POST: it says nothing about the receiver's health.
    return _Outcome(Verdict.abandon(reason, streak="none"), error=error, sent=False)


def _attempt(claim: Claim) -> _Outcome:
    """Check, sign and POST one claimed attempt; classify the answer (D24–D26)."""
    reasons = WebhookDelivery.AbandonedReason
    if claim.payload is None:
        return _unsent(reasons.EVENT_PURGED, "event purged")
    if not claim.endpoint_enabled or not claim.url or not claim.secrets:
        return _unsent(reasons.ENDPOINT_DISABLED, "endpoint disabled")
    # D24's 8 s cover the whole attempt: resolving the host, then the POST
    # with what is left. A resolver answering late held the worker past them.
    start = time.monotonic()
    deadline = start + float(settings.JOPAY_WEBHOOK_TIMEOUT_SECONDS)

    def elapsed_ms() -> int:
        return int((time.monotonic() - start) * 1000)

    try:
        # D26 again at send time (DNS may have changed); the POST connects only
        # to the addresses approved here.
        approved = urlsafety.check_url(claim.url, deadline=deadline)
    except urlsafety.ResolveTimeoutError:
        return _Outcome(Verdict.retry(), latency_ms=elapsed_ms(), error="dns timeout")
    except urlsafety.UnresolvableHostError:
        return _Outcome(Verdict.retry(), latency_ms=elapsed_ms(), error="dns error")
    except urlsafety.UnsafeUrlError:
        return _unsent(reasons.UNSAFE_URL, "URL resolves to a non-public address")
    body = build_body(claim.payload, claim.delivery_id)
    headers = signing.signature_headers(
        secrets_new_first=claim.secrets,
        delivery_id=claim.delivery_id,
        attempt=claim.attempt,
        timestamp=int(time.time()),
        body=body,
    )
    left = deadline - time.monotonic()
    if left <= 0:  # the resolver answered at the deadline: nothing left to send
        return _Outcome(Verdict.retry(), latency_ms=elapsed_ms(), error="timeout")
    result = post(claim.url, body, headers, timeout=left, approved=approved)
    return _Outcome(
        classify(result),
        status_code=result.status_code,
        latency_ms=elapsed_ms(),  # the whole attempt, as D24's 8 s count it
        error=result.error,
        body=result.body,
    )
