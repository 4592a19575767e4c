"""HTTP for feeds: a timeout, two tries, and the adapter picked from URL and content."""

from __future__ import annotations

import logging
import re
import threading
import time
from decimal import Decimal
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import HTTPError as Urllib3Error

from . import ecb, json_table
from .base import FeedError, FeedRates

logger = logging.getLogger("jopay.fx")

# Order matters only when both could claim a body; XML is checked first so a
# feed served as text/xml with a JSON-looking URL still parses as XML.
ADAPTERS = (ecb, json_table)
TRIES = 2  # D14: each feed gets two tries before the next one is asked
MAX_BYTES = 1_000_000  # rate tables are a few KiB; refuse anything absurd


def source_name(adapter_name: str, url: str) -> str:
    host = urlsplit(url).hostname or "unknown"
    return f"{adapter_name}:{host}"[:40]


# A path segment that looks like an API key: 16+ letters, digits, "-" or "_",
# at least one of them a digit, and no dot (file names like
# ``eurofxref-hist-90d.xml`` keep theirs).
_KEY_SEGMENT = re.compile(r"(?=[A-Za-z_-]*[0-9])[A-Za-z0-9_-]{16,}", re.ASCII)


def redacted(url: str) -> str:
    """``url`` without its query, credentials or a key in its path, for logs
    and errors.

    Keyed feeds put the key in the query (``?app_id=…``), the userinfo, or a
    path segment (exchangerate-api: ``/v6/<key>/latest/USD``, the
    ``conversion_rates`` table the JSON adapter reads); ``JOPAY_FX_FEEDS``
    exists so operators can use them, and a failing feed is logged every 30
    minutes.
    """
    parts = urlsplit(url)
    host = parts.hostname or "unknown"
    port = f":{parts.port}" if parts.port else ""
    path = "/".join(
        "…" if _KEY_SEGMENT.fullmatch(segment) else segment
        for segment in parts.path.split("/")
    )
    return f"{parts.scheme}://{host}{port}{path}"


def _path_keys(url: str) -> list[str]:
    return [s for s in urlsplit(url).path.split("/") if _KEY_SEGMENT.fullmatch(s)]


def _scrubbed(text: str, url: str) -> str:
    """``text`` (an error message, which may quote the URL) without the secrets."""
    parts = urlsplit(url)
    text = text.replace(url, redacted(url))
    for secret in (parts.query, parts.password, parts.username, *_path_keys(url)):
        if secret:
            text = text.replace(secret, "…")
    return text


def parse_feed(url: str, content_type: str, body: bytes) -> FeedRates:
    """Parse one feed answer with the first adapter that recognises it."""
    for adapter in ADAPTERS:
        if adapter.looks_like(url, content_type.lower(), body):
            rates: dict[str, Decimal] = adapter.parse(body)
            return FeedRates(source=source_name(adapter.NAME, url), rates=rates)
    raise FeedError("no adapter recognises this feed")


def fetch_feed(url: str, *, timeout: float) -> FeedRates:
    """Fetch and parse ``url``; up to ``TRIES`` attempts, each with ``timeout`` seconds.

    Raises ``FeedError`` when every attempt failed (HTTP error, timeout,
    connection error, an answer cut off or undecodable mid-body, oversized or
    unparseable answer).
    """
    last_error: Exception | None = None
    for attempt in range(1, TRIES + 1):
        try:
            content_type, body = _get_within(url, timeout=timeout)
        except (requests.RequestException, FeedError) as exc:
            # Transport trouble is worth the second try; a bad body is not.
            last_error = exc
            logger.warning(
                "fx feed %s attempt %d/%d failed: %s",
                redacted(url),
                attempt,
                TRIES,
                _scrubbed(str(exc), url),
            )
            continue
        if len(body) > MAX_BYTES:
            raise FeedError(f"{redacted(url)}: answer too large")
        try:
            return parse_feed(url, content_type, body)
        except FeedError as exc:
            raise FeedError(f"{redacted(url)}: {_scrubbed(str(exc), url)}") from None
    raise FeedError(f"{redacted(url)}: {_scrubbed(str(last_error), url)}")


def _get_within(url: str, *, timeout: float) -> tuple[str, bytes]:
    """``_get``, given up after ``timeout`` seconds whatever the server does.

    A socket timeout bounds each read, not a try: a server sending its status
    line and headers a byte at a time, each within the timeout, held one try
    for as long as it liked, and the refresh task hit its time limit before
    the fallback feed was asked (D14: 10 s and two tries per feed; the
    settings check sizes the task's limit on exactly that). The try runs in a
    daemon thread, left to end on its own socket timeouts when abandoned.
    """
    outcome: dict[str, object] = {}
    done = threading.Event()

    def run() -> None:
        try:
            outcome["answer"] = _get(url, timeout=timeout)
        except Exception as exc:  # handed to the caller below
            outcome["error"] = exc
        finally:
            done.set()

    threading.Thread(target=run, name="fx-feed", daemon=True).start()
    if not done.wait(timeout):
        raise FeedError(f"no whole answer within {timeout:g} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["answer"]


def _get(url: str, *, timeout: float) -> tuple[str, bytes]:
    """One GET: its content type and at most ``MAX_BYTES`` + 1 bytes of body.

    ``timeout`` bounds the whole call, not each socket read (a server
    dripping a byte at a time would otherwise hold a try for ever): the body
    is read in chunks and the call gives up at the deadline, at most one
    read past it. Reading stops one byte past ``MAX_BYTES``, so an endless
    answer costs no more memory than a too-large one.
    """
    deadline = time.monotonic() + timeout
    with requests.get(
        url,
        timeout=timeout,
        allow_redirects=False,
        stream=True,
        headers={"Accept": "application/json, application/xml"},
    ) as response:
        if response.status_code != 200:
            raise FeedError(f"HTTP {response.status_code}")
        body = bytearray()
        try:
            # read1: what one socket read brings (a buffered read(n) would wait
            # for n bytes, however slowly they come); decoded, as requests would.
            while chunk := response.raw.read1(16_384, decode_content=True):
                body += chunk
                if len(body) > MAX_BYTES:
                    break
                if time.monotonic() > deadline:
                    raise FeedError(f"no whole answer within {timeout:g} s")
        except (Urllib3Error, OSError) as exc:
            # D14: the raw stream raises urllib3's own errors, not requests'
            # (ReadTimeoutError on a stall, ProtocolError on a connection cut
            # short of Content-Length, DecodeError on a bad gzip body). They
            # are transport trouble like any other: the second try, then the
            # next feed; never an exception out of the refresh.
            raise FeedError(f"reading the answer failed: {exc}") from None
        return response.headers.get("Content-Type", ""), bytes(body)
