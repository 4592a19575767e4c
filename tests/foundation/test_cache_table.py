"""D30: ``migrate`` creates the database cache's table, so a database migrated
by hand (not by ``make run``) does not answer 500 to every rate-limited call."""

from __future__ import annotations

from django.core.management import call_command
from django.db import connection
from django.test import override_settings

DB_CACHE = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "jopay_cache_migrate_test",
    }
}


def test_migrate_creates_the_database_cache_table(db):
    assert "jopay_cache_migrate_test" not in connection.introspection.table_names()
    with override_settings(CACHES=DB_CACHE):
        call_command("migrate", verbosity=0, interactive=False)
        assert "jopay_cache_migrate_test" in connection.introspection.table_names()
        # Twice is harmless (every deploy migrates).
        call_command("migrate", verbosity=0, interactive=False)
