"""Rate limits (decisions.md D27, spec §7): one table, read by the limiter and the docs.

Counters are django-ratelimit's fixed one-minute (or one-hour) windows in the
shared cache, so every gunicorn process and host sees the same count. The
limiter's own ``Ratelimited`` exception (a ``PermissionDenied``) is never
allowed to surface: callers turn ``should_limit`` into the 429 envelope.

When the counters' store cannot be reached (Redis restarting, a network
blip) a limiter must not take the product down with it: every group fails
open (the call is served, uncounted, without rate-limit headers, and the
outage is logged) except the portal login, which fails closed, because its
counter is what stands between a password and a guessing loop.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache

import redis
from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django_ratelimit import ALL
from django_ratelimit.core import (
    EXPIRATION_FUDGE,
    _get_window,
    _make_cache_key,
    _split_rate,
    get_usage,
)

# Who a caller is for the per-IP limits; callers use them as ``ratelimits.*``.
from jopay_project.client_address import (  # noqa: F401  (re-exported)
    client_bucket,
    client_ip,
    client_ip_hash,
)
from jopay_project.formats import wait_in_words
from jopay_project.ratelimit_table import LIMITS, Limit  # noqa: F401  (re-exported)

# Groups refused, not served, while their counters are unreachable.
FAIL_CLOSED = frozenset({"portal.login"})
# What a fail-closed group answers as ``reset`` during an outage.
OUTAGE_RETRY_SECONDS = 30
# The counters' store is local: a healthy one answers in well under a
# millisecond, so a second means it is gone (and a dead host must not hang a
# worker for the kernel's TCP timeout).
STORE_TIMEOUT_SECONDS = 1.0
_STORE_ERRORS = (redis.RedisError, OSError)

# Under "jopay.", the prefix OPERATIONS.md tells operators to watch.
logger = logging.getLogger("jopay.ratelimits")


@dataclass
class Usage:
    limit: int
    remaining: int
    reset: int  # whole seconds until the window frees up
    exceeded: bool
    counted: bool = True  # False: the store was unreachable, nothing was counted
    # The window's counter this call was added to, for ``take_back``; None when
    # nothing was added.
    cache_key: str | None = field(default=None, repr=False)

    def headers(self) -> dict[str, str]:
        if not self.counted:  # no figures to tell (docs/site/rate-limits.md)
            return {}
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
        }


def hit(
    request: HttpRequest,
    group: str,
    key: str,
    *,
    rate: str | None = None,
    increment: bool = True,
) -> Usage:
    """Count one call of ``group`` for ``key`` and say whether it is over the limit."""
    if not settings.RATELIMIT_ENABLE:
        count, window = parse_rate(rate or LIMITS[group].rate)
        return Usage(limit=count, remaining=count, reset=window, exceeded=False)
    rate = rate or LIMITS[group].rate
    try:
        return _hit(request, group, key, rate, increment)
    except _STORE_ERRORS as exc:
        return _store_down(group, rate, exc)


def _hit(
    request: HttpRequest, group: str, key: str, rate: str, increment: bool
) -> Usage:
    client = _redis_client()
    if increment and client is not None:
        return _hit_redis(client, f"jopay:{group}", key, rate)
    counter = None
    if increment:  # the key get_usage counts in (its window, its format)
        window = _get_window(key, parse_rate(rate)[1])
        counter = _make_cache_key(f"jopay:{group}", window, rate, key, ALL)
    with _counting(counter):
        usage = get_usage(
            request,
            group=f"jopay:{group}",
            key=lambda _group, _request: key,
            rate=rate,
            method=ALL,
            increment=increment,
        )
    if usage is None:  # should not happen with an explicit rate; fail closed-but-sane
        count, window = parse_rate(rate)
        return Usage(limit=count, remaining=count, reset=window, exceeded=False)
    limit = usage["limit"]
    return Usage(
        limit=limit,
        remaining=max(limit - usage["count"], 0),
        reset=_seconds_until_free(int(usage["time_left"])),
        exceeded=usage["should_limit"],
        cache_key=counter,
    )


# DECR only a counter that is there and above zero: a call that outlived its
# window must not leave a TTL-less -1 behind.
_TAKE_BACK = """
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n and n > 0 then return redis.call('DECR', KEYS[1]) end
return 0
"""


def html_rate_limited(request: HttpRequest, usage: Usage) -> HttpResponse:
    """The 429 page of the public pages (pay, onboarding), with ``Retry-After``."""
    response = render(
        request,
        "rate_limited.html",
        {"wait": wait_in_words(usage.reset)},  # not "wait 1 seconds"
        status=429,
    )
    response["Retry-After"] = str(usage.reset)
    return response


def take_back(usage: Usage) -> None:
    """Uncount one call that ``hit`` counted, in the very window it was counted in.

    For counters that gate work before it is done (D27 login attempts, counted
    before the password check) and keep only the calls that turned out to
    matter. Never below zero; a no-op when nothing was counted or the store is
    unreachable (the count then simply stands until its window ends).
    """
    if usage.cache_key is None:
        return
    store = caches[settings.RATELIMIT_USE_CACHE]
    try:
        client = _redis_client()
        if client is not None:
            client.eval(_TAKE_BACK, 1, store.make_key(usage.cache_key))
        else:
            with _counting(usage.cache_key):
                if (store.get(usage.cache_key) or 0) > 0:
                    store.decr(usage.cache_key)
    except (*_STORE_ERRORS, ValueError) as exc:  # ValueError: the key just expired
        logger.warning("rate-limit take-back failed (%s: %s)", type(exc).__name__, exc)


def parse_rate(rate: str) -> tuple[int, int]:
    return _split_rate(rate)


_last_outage_log = 0.0


def _store_down(group: str, rate: str, exc: Exception) -> Usage:
    """The answer while the counters are unreachable: open, or closed (FAIL_CLOSED)."""
    global _last_outage_log
    now = time.monotonic()
    if now - _last_outage_log >= 10:  # one line per process every 10 s, not per call
        _last_outage_log = now
        logger.warning(
            "rate-limit counters unreachable (%s: %s); %s fails %s",
            type(exc).__name__,
            exc,
            group,
            "closed" if group in FAIL_CLOSED else "open",
        )
    count, window = parse_rate(rate)
    if group in FAIL_CLOSED:
        return Usage(count, 0, OUTAGE_RETRY_SECONDS, exceeded=True, counted=False)
    return Usage(count, count, window, exceeded=False, counted=False)


# Namespace of the advisory locks around database-cache counters (amounts.py
# uses 0x4A50, fx.py 0x4A51).
COUNTER_LOCK_CLASS = 0x4A52


@contextmanager
def _counting(counter: str | None) -> Iterator[None]:
    """Serialise the read-modify-write of a counter in Django's database cache.

    ``DatabaseCache.incr`` reads the value, then writes it back: two processes
    counting at once both wrote n + 1, and 150 parallel calls let 65 through a
    limit of 60 (D27: every process sees the same count; D30: also without
    Redis). SQLite's transactions start IMMEDIATE here (settings), so one
    writer at a time; PostgreSQL takes a transaction-scoped advisory lock on
    the counter. Redis counters never come here: INCR is atomic.
    """
    if counter is None:  # a peek: nothing is written
        yield
        return
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT pg_advisory_xact_lock(%s, hashtext(%s))",
                    [COUNTER_LOCK_CLASS, counter],
                )
        yield


def _redis_client() -> redis.Redis | None:
    """A client of the counters' Redis, kept per process; None for other caches.

    Django's cache builds a new client object on every call and
    django-ratelimit needs three commands per hit (add, exists, incr); this
    path sends two in one round trip.
    """
    name = settings.RATELIMIT_USE_CACHE
    location = settings.CACHES[name].get("LOCATION")
    if not isinstance(caches[name], RedisCache) or not isinstance(location, str):
        return None
    return _client_for(location)


@cache
def _client_for(location: str) -> redis.Redis:
    return redis.Redis.from_url(
        location,
        socket_connect_timeout=STORE_TIMEOUT_SECONDS,
        socket_timeout=STORE_TIMEOUT_SECONDS,
    )


def _seconds_until_free(time_left: int) -> int:
    """``X-RateLimit-Reset`` / ``Retry-After`` (D27, D34): whole seconds until a
    call is counted in a fresh window, from django-ratelimit's ``time_left``.

    That counts to its ``window``, the last whole second of the current window
    (the counter's key changes once ``int(time.time())`` passes it), so the
    window frees one second later. Sent as it was, it told a client up to a
    second too little: one that waited ``Retry-After`` exactly was refused again.
    """
    return max(time_left + 1, 1)


def _hit_redis(client: redis.Redis, group: str, value: str, rate: str) -> Usage:
    """``get_usage(increment=True)``, same window and key, in one round trip.

    django-ratelimit's own fixed windows and cache keys (D27), so both paths
    count in the same keys: ``SET NX`` with the TTL (its ``cache.add``) and
    ``INCR``, pipelined.
    """
    limit, period = _split_rate(rate)
    window = _get_window(value, period)
    counter = _make_cache_key(group, window, rate, value, ALL)
    cache_key = caches[settings.RATELIMIT_USE_CACHE].make_key(counter)
    pipe = client.pipeline(transaction=False)
    pipe.set(cache_key, 0, ex=period + EXPIRATION_FUDGE, nx=True)
    pipe.incr(cache_key)
    _, count = pipe.execute()
    return Usage(
        limit=limit,
        remaining=max(limit - count, 0),
        reset=_seconds_until_free(window - int(time.time())),
        exceeded=count > limit,
        cache_key=counter,
    )
