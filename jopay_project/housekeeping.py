"""Periodic clean-up of rows that only expire: sessions and database-cache entries.

Neither store deletes what expired by itself. Django's database sessions wait
for a ``clearsessions`` cron job; its ``DatabaseCache`` removes expired rows
only once the table holds more than ``MAX_ENTRIES`` (1 000 000 here, see
settings), and counts the whole table on every write until then. Each rate-limit
window leaves one row per caller and limit behind (D27, D30), so both tables
grew with every sign-in and every minute of traffic. Both tasks are safe to run
twice.
"""

from __future__ import annotations

import logging
from importlib import import_module

from celery import shared_task
from django.conf import settings
from django.contrib.sessions.models import Session
from django.core.cache import caches
from django.core.cache.backends.db import DatabaseCache
from django.db import connections, router
from django.utils import timezone

logger = logging.getLogger("jopay.housekeeping")

DB_SESSIONS = "django.contrib.sessions.backends.db"


def expired_sessions_clear() -> int:
    """Delete the expired sessions; how many database rows went (0 otherwise)."""
    if settings.SESSION_ENGINE != DB_SESSIONS:
        import_module(settings.SESSION_ENGINE).SessionStore.clear_expired()
        return 0
    deleted, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    return deleted


def expired_cache_entries_purge() -> int:
    """Delete the expired rows of every database cache; how many went.

    The statement is the one ``DatabaseCache`` culls with, without its
    row-count condition. Redis and other caches expire their own keys.
    """
    deleted = 0
    for alias in settings.CACHES:
        cache = caches[alias]
        if not isinstance(cache, DatabaseCache):
            continue
        db = router.db_for_write(cache.cache_model_class)
        connection = connections[db]
        now = timezone.now().replace(microsecond=0)
        table = connection.ops.quote_name(cache._table)
        sql = f"DELETE FROM {table} WHERE expires < %s"  # noqa: S608 (a quoted name)
        with connection.cursor() as cursor:
            cursor.execute(sql, [connection.ops.adapt_datetimefield_value(now)])
            deleted += cursor.rowcount
    return deleted


@shared_task(name="jopay.clear_expired_sessions", ignore_result=True)
def clear_expired_sessions_task() -> int:
    """Daily: the portal and admin sessions that have expired."""
    deleted = expired_sessions_clear()
    logger.info("deleted %d expired sessions", deleted)
    return deleted


@shared_task(name="jopay.purge_expired_cache_entries", ignore_result=True)
def purge_expired_cache_entries_task() -> int:
    """Hourly: expired database-cache rows (the embedded stack's counters)."""
    deleted = expired_cache_entries_purge()
    logger.info("deleted %d expired cache entries", deleted)
    return deleted
