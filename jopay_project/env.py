"""Typed environment readers that refuse bad values at start-up.

Every setting JoPay reads from the environment goes through one of these, so a
typo in production fails loudly (``ImproperlyConfigured``) instead of silently
falling back to a default.
"""

from __future__ import annotations

import ipaddress
import os
import re
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

from .env_urls import keyless, shown, split_url

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


def env_str(name: str, default: str = "") -> str:
    """Set but blank is the default (a tool filling in an unset ``${VAR}``)."""
    raw = os.environ.get(name, "")
    return raw if raw.strip() else default


def env_bool(name: str, default: bool = False) -> bool:
    """Set but empty is the default, as for ``env_int``: a tool interpolating an
    unset variable hands over "", and reading it as off switched every rate
    limit off (JOPAY_RATELIMIT_ENABLE) and SMTP's TLS (EMAIL_USE_TLS)."""
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{name} must be a boolean (1/0, true/false), not {raw!r}"
    )


def env_int(
    name: str, default: int, *, minimum: int | None = None, maximum: int | None = None
) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, not {raw!r}") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name} must be >= {minimum}, not {value}")
    if maximum is not None and value > maximum:
        raise ImproperlyConfigured(f"{name} must be <= {maximum}, not {value}")
    return value


LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def env_log_level(name: str, default: str) -> str:
    """A ``logging`` level name, in any case (``debug`` is ``DEBUG``).

    Passed through as it was, ``LOG_LEVEL=debug`` (or a typo) got as far as
    Django's logging set-up, which stopped every process with a traceback
    ending in "Unable to configure root logger" that never named the variable.
    """
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().upper()
    if value not in LOG_LEVELS:
        raise ImproperlyConfigured(
            f"{name} must be one of {', '.join(LOG_LEVELS)}, not {raw!r}"
        )
    return value


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return list(default or [])
    return [item.strip() for item in raw.split(",") if item.strip()]


def env_int_list(
    name: str, default: list[int], *, maximum: int | None = None
) -> list[int]:
    items = env_list(name)
    if not items:
        return list(default)
    try:
        values = [int(item) for item in items]
    except ValueError:
        raise ImproperlyConfigured(
            f"{name} must be comma-separated whole seconds, not {os.environ[name]!r}"
        ) from None
    if any(v < 0 for v in values):
        raise ImproperlyConfigured(f"{name} must not contain negative values")
    if maximum is not None and any(v > maximum for v in values):
        raise ImproperlyConfigured(f"{name} must not contain values over {maximum}")
    return values


def env_url(name: str, default: str = "", *, schemes: tuple[str, ...]) -> str:
    raw = os.environ.get(name, default).strip()
    if not raw:
        return raw
    parts, _ = split_url(raw)
    if parts is None or parts.scheme not in schemes or not parts.netloc:
        raise ImproperlyConfigured(
            f"{name} must be a {'/'.join(schemes)} URL with a host, not {shown(raw)}"
        )
    # urlsplit reads "HTTPS://" as https; kept as typed, the settings' own
    # startswith("https://") missed it and left secure cookies and HSTS off.
    if raw[: len(parts.scheme)].lower() == parts.scheme:
        raw = parts.scheme + raw[len(parts.scheme) :]
    return raw.rstrip("/")


def env_url_prefix(name: str, *, schemes: tuple[str, ...]) -> str:
    """``env_url`` for a URL that other URLs are built on (``<it>/pay/<id>``).

    A query, a fragment or credentials in it would not be a prefix: with
    ``https://pay.example.com?ref=1`` every ``pay_page_url`` was
    ``https://pay.example.com?ref=1/pay/<id>``, a link to the home page, and
    ``user:password@`` went out in every link and webhook (D31).
    """
    url = env_url(name, schemes=schemes)
    parts = urlsplit(url)
    if url and (parts.query or parts.fragment or "?" in url or "#" in url):
        raise ImproperlyConfigured(
            f"{name} must have no query or fragment (it prefixes every link), "
            f"not {shown(url)}"
        )
    if parts.username is not None or parts.password is not None:
        raise ImproperlyConfigured(
            f"{name} must not carry a user name or password (every link shows it)"
        )
    return url


_REDIS_DB_RE = re.compile(r"/?[0-9]*\Z")


def env_redis_url(name: str) -> str:
    """``env_url`` for Redis: a port in 1 … 65535 and a database number, if any.

    Loaded as they were, a port past 65535 made every rate-limited call (the
    whole API) a 500, and ``/abc`` as the database left the cache on DB 0 while
    every publish to the broker failed.
    """
    url = env_url(name, schemes=("redis", "rediss"))
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = 0
    if url and (port == 0 or not _REDIS_DB_RE.match(parts.path)):
        raise ImproperlyConfigured(
            f"{name} must be redis[s]://host[:port][/database number], not {shown(url)}"
        )
    return url


_SENDER_RE = re.compile(r"(?:[^<>]*<(?P<bracketed>[^<>]*)>|(?P<bare>[^<>]*))")
_ADDR_RE = re.compile(r'[^@\s<>,;"]+@[^@\s<>,;"]+')


def env_sender(name: str, default: str) -> str:
    """A From address: ``user@domain`` or ``Name <user@domain>``, trimmed.

    Loaded as given, a value read from a secret file ("…>\n") made every
    onboarding e-mail a BadHeaderError in the worker, and one without an
    address ("JoPay") or with two went out as a sender servers refuse: six
    tries, then the merchant was never mailed its link.
    """
    value = env_str(name, default).strip()
    match = _SENDER_RE.fullmatch(value)
    address = match and (match["bracketed"] or match["bare"] or "").strip()
    if "\n" in value or "\r" in value or not address or not _ADDR_RE.fullmatch(address):
        raise ImproperlyConfigured(
            f"{name} must be an e-mail address, alone or as "
            f"'Name <user@example.com>', not {value!r}"
        )
    return value


_POSTGRES_SCHEMES = ("postgres", "postgresql", "pgsql")


def env_database_url(name: str, **options) -> dict | None:
    """``DATABASE_URL`` as Django's database settings; None when unset.

    D30/D31: PostgreSQL is the supported set (unset: the embedded SQLite).
    Anything else loaded: ``mysql://`` died in the first command's "Error
    loading MySQLdb module" traceback, which never named the variable, and a
    URL without a database name got as far as the first query. The message
    shows the scheme, never the URL (it holds the password).
    """
    import dj_database_url

    raw = env_str(name).strip()
    if not raw:
        return None
    scheme = raw.partition("://")[0].lower() if "://" in raw else ""
    if scheme not in _POSTGRES_SCHEMES:
        raise ImproperlyConfigured(
            f"{name} must be a postgresql://user@host[:port]/database URL, not a "
            f"{scheme + '://' if scheme else 'value without a scheme'} one "
            "(leave it unset for the embedded SQLite)"
        )
    try:
        db = dj_database_url.parse(raw, **options)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} is not a database URL: {exc}") from None
    if not db.get("NAME"):
        raise ImproperlyConfigured(
            f"{name} must end in a database name (postgresql://host/<database name>)"
        )
    return db


def https_or_loopback_http(url: str) -> bool:
    """https to any host; plain http only to a loopback one (a local service in
    development). The rule of ``JOPAY_OIDC_JWKS_URL`` (D35)."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return True
    if parts.scheme != "http" or not parts.hostname:
        return False
    if parts.hostname == "localhost":
        return True
    try:
        return ipaddress.ip_address(parts.hostname).is_loopback
    except ValueError:
        return False


def env_url_list(
    name: str, default: list[str] | None = None, *, schemes: tuple[str, ...]
) -> list[str]:
    """A comma-separated list of URLs, each with one of ``schemes`` and a host."""
    urls = env_list(name, default)
    for number, url in enumerate(urls, start=1):
        parts, _ = split_url(url)
        if parts is None or parts.scheme not in schemes or not parts.netloc:
            raise ImproperlyConfigured(
                f"{name} entries must be {'/'.join(schemes)} URLs with a host "
                f"and a port up to 65535, not entry {number}: {keyless(url)!r}"
            )
    return urls


def env_all_or_none(*names: str) -> None:
    """Refuse a group of settings that only work together when some are missing."""
    present = [name for name in names if os.environ.get(name, "").strip()]
    if present and len(present) != len(names):
        missing = [name for name in names if name not in present]
        raise ImproperlyConfigured(
            f"{', '.join(names)} must be set together; "
            f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} missing"
        )


# ASCII only: int() also takes "+1", "1_0", " 1" and other scripts' digits.
_CHAIN_ID_RE = re.compile(r"[0-9]{1,18}\Z")
_ADDRESS_RE = re.compile(r"0x[0-9a-fA-F]{40}\Z")


def env_mapping(name: str) -> dict[int, str]:
    """Parse ``"137=0xabc…,8453=0xdef…"`` (chain id → contract address).

    Each entry is a positive decimal chain id, ``=``, and ``0x`` + 40 hex digits
    (D29, D31); a chain named twice is refused, not decided by the last entry.
    """
    result: dict[int, str] = {}
    for item in env_list(name):
        key, sep, value = (part.strip() for part in item.partition("="))
        if (
            not sep
            or not _CHAIN_ID_RE.match(key)
            or int(key) <= 0
            or not _ADDRESS_RE.match(value)
        ):
            raise ImproperlyConfigured(
                f"{name} entries must look like 137=0x<40 hex>, not {item!r}"
            )
        if int(key) in result:
            raise ImproperlyConfigured(f"{name} names chain {int(key)} twice")
        result[int(key)] = value
    return result
