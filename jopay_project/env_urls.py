"""Reading URLs from the environment for error messages: safely, and without
the secrets they may carry (start-up errors reach the service's log)."""

from __future__ import annotations

import re
from urllib.parse import SplitResult, urlsplit


def shown(url: str) -> str:
    """``url`` for an error message: its password as ``***``. Start-up errors
    reach the service's log, and a Redis or feed URL may carry credentials."""
    try:
        password = urlsplit(url).password
    except ValueError:
        # Unreadable (a bracket left open): whatever precedes "@" may be one.
        password = "@" in url
    if not password:
        return repr(url)
    userinfo, at, rest = url.rpartition("@")
    user = userinfo.rpartition(":")[0]
    return repr(f"{user}:***{at}{rest}")


def split_url(url: str) -> tuple[SplitResult | None, int | None]:
    """``url`` split, and its port; ``(None, None)`` when either cannot be read.

    ``urlsplit`` raises ``ValueError`` for a bracket left open
    (``https://[::1``), and ``.port`` for a port past 65535: both stopped
    start-up with a bare "Invalid IPv6 URL" traceback that never named the
    variable, or (the port, never read at start-up) loaded and broke every
    pay-page link built on it.
    """
    try:
        parts = urlsplit(url)
        return parts, parts.port
    except ValueError:
        return None, None


# A path segment that looks like an API key (payments.fx.fetch.redacted reads
# the same): 16+ letters, digits, "-" or "_", at least one a digit, no dot.
_KEY_SEGMENT = re.compile(r"(?=[A-Za-z_-]*[0-9])[A-Za-z0-9_-]{16,}", re.ASCII)


def keyless(url: str) -> str:
    """``url`` for an error message without what may be a key: the query and
    fragment, a user name and password (as ``***``), and key-like path
    segments.

    A keyed feed carries its key in one of those (``?app_id=…``,
    ``/v6/<key>/latest/USD``), and start-up errors reach the service log.
    """
    url = re.split(r"[?#]", url, maxsplit=1)[0]
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    authority, slash, path = rest.partition("/")
    _, at, host = authority.rpartition("@")
    authority = f"***@{host}" if at else host  # as shown() marks a password
    path = "/".join(
        "…" if _KEY_SEGMENT.fullmatch(part) else part for part in path.split("/")
    )
    return f"{scheme}{sep}{authority}{slash}{path}"
