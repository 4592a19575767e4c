"""One webhook attempt: claim → check → sign → POST → classify → record (D24–D26).

The network call happens between two short database statements and never
inside a transaction, through ``transport.session()``, whose connections open
only to the addresses the D26 check approved for the send at hand.
"""

from __future__ import annotations

import codecs
import json
import logging
import math
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import requests
from django.conf import settings

from . import signing, urlsafety
from .models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from .services.outbox import (
    RETRY_AFTER_CAP_SECONDS,
    Claim,
    Recorded,
    Verdict,
    delivery_claim,
    delivery_record,
    endpoint_next_ids,
)
from .transport import connect_only_to, cut_off_at, session

logger = logging.getLogger("jopay.webhooks")

BODY_LIMIT = WebhookAttempt.RESPONSE_BODY_LIMIT  # first 2 KiB of the answer is kept
DRAIN_LIMIT = 64 * 1024  # read (and drop) this much more to reuse the connection
CONNECT_TIMEOUT_CAP = 4.0
# A Retry-After of more digits than this is far past the 24 h cap (D24).
RETRY_AFTER_MAX_DIGITS = 9


@dataclass(frozen=True)
class HttpResult:
    status_code: int | None  # None: timeout, connection or TLS error
    latency_ms: int
    error: str
    body: str
    retry_after: int | None


def build_body(payload: dict[str, Any], delivery_id: str) -> bytes:
    """The event payload plus ``delivery_id`` as compact UTF-8 JSON (§6.4, D23)."""
    doc = {"event": payload.get("event"), "delivery_id": delivery_id}
    doc.update((k, v) for k, v in payload.items() if k not in doc)
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()


def _retry_after(value: str | None) -> int | None:
    """Seconds a ``Retry-After`` header asks for, or ``None``; never raises.

    The receiver writes this header, so anything may arrive in it: a wrong or
    absurd value costs us only the hint, never the attempt's record (D24).
    """
    if not value:
        return None
    value = value.strip()
    # ASCII 0-9 only: ``str.isdigit`` also accepts "²" and other digits that
    # ``int`` refuses. A value longer than any sane delay is not converted
    # (``int`` refuses over 4 300 digits): it is simply "longer than the cap",
    # and ``retry_delay`` caps every delay at RETRY_AFTER_CAP_SECONDS anyway.
    if value.isascii() and value.isdigit():
        digits = value.lstrip("0") or "0"
        if len(digits) > RETRY_AFTER_MAX_DIGITS:
            return RETRY_AFTER_CAP_SECONDS
        return int(digits)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    # Rounded up: the date means "not before", and flooring the fraction of a
    # second "now" carries retried up to a second before it.
    return max(math.ceil((when - datetime.now(UTC)).total_seconds()), 0)


def _socket_of(response: requests.Response) -> socket.socket | None:
    connection = getattr(response.raw, "_connection", None)
    return getattr(connection, "sock", None)


def _read_bounded(response: requests.Response, deadline: float) -> bytes:
    """Up to ``BODY_LIMIT`` bytes of the answer, never reading past ``deadline``.

    Reading to the end returns the connection to the pool; a huge or slow
    answer is cut off by closing the connection instead.
    """
    kept = bytearray()
    total = 0
    sock = _socket_of(response)
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or total > DRAIN_LIMIT:
            response.close()
            break
        if sock is not None:
            sock.settimeout(remaining)
        try:
            chunk = response.raw.read(8192, decode_content=True)
        except Exception:
            response.close()
            break
        if not chunk:
            break
        total += len(chunk)
        if len(kept) < BODY_LIMIT:
            kept += chunk[: BODY_LIMIT - len(kept)]
    return bytes(kept)


def _kept_text(raw: bytes) -> str:
    """The kept answer as text (D24: its first 2 KiB).

    Cut at ``BODY_LIMIT`` bytes, the answer may end inside a multi-byte UTF-8
    character: that part is left out rather than shown as a "\ufffd" the
    receiver never sent. Bytes that are not UTF-8 elsewhere still show as one.
    """
    decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
    return decoder.decode(raw, final=len(raw) < BODY_LIMIT)


def post(
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    timeout: float,
    approved: tuple[str, list[str]],
) -> HttpResult:
    """POST once; a 2xx counts only if its status line came within ``timeout`` (D24).

    ``approved`` is what ``urlsafety.check_url(url)`` returned: a new
    connection opens only to those addresses.
    """
    start = time.monotonic()
    deadline = start + timeout
    verify: str | bool = settings.JOPAY_WEBHOOK_CA_BUNDLE or True

    def failed(error: str) -> HttpResult:
        latency = int((time.monotonic() - start) * 1000)
        return HttpResult(None, latency, error, "", None)

    # The whole send, body included, ends at the deadline (``cut_off_at``).
    with cut_off_at(deadline):
        try:
            with connect_only_to(*approved):
                response = session().post(
                    url,
                    data=body,
                    headers=headers,
                    verify=verify,
                    stream=True,
                    allow_redirects=False,  # D24/D26: a 3xx is never followed
                    timeout=(min(timeout, CONNECT_TIMEOUT_CAP), timeout),
                )
        except requests.RequestException as exc:
            # Past the deadline, ``cut_off_at`` shut the socket: whatever
            # broke, the receiver was too slow.
            if isinstance(exc, requests.Timeout) or time.monotonic() >= deadline:
                return failed("timeout")
            if isinstance(exc, requests.exceptions.SSLError):
                return failed("tls error")
            if isinstance(exc, requests.ConnectionError):
                return failed("connection error")
            return failed(f"request error: {type(exc).__name__}")
        if time.monotonic() > deadline:
            response.close()
            return failed("timeout")
        raw = _read_bounded(response, deadline)
    latency = int((time.monotonic() - start) * 1000)
    return HttpResult(
        response.status_code,
        latency,
        "",
        # PostgreSQL text cannot hold NUL characters.
        _kept_text(raw).replace("\x00", "\ufffd"),
        _retry_after(response.headers.get("Retry-After")),
    )


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

    for next_id in endpoint_next_ids(endpoint_id=endpoint_id):
        webhook_delivery_send_task.delay(next_id)


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
