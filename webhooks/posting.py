"""One POST to a receiver and the bounded read of its answer (D24, D26).

``delivery`` decides what to send and what the answer means; this module only
sends: through ``transport.session()`` to the addresses the D26 check
approved, within the attempt's deadline, keeping the first 2 KiB of the answer
and its ``Retry-After`` hint.
"""

from __future__ import annotations

import codecs
import math
import socket
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime

import requests
from django.conf import settings

from .models import WebhookAttempt
from .services.outbox import RETRY_AFTER_CAP_SECONDS
from .transport import connect_only_to, cut_off_at, session

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
