"""Print, as JSON, the SQL each project migration runs from an empty database.

    DATABASE_URL=postgresql://…/empty python -m tests.foundation.migration_sql

Run in its own process by ``test_migration_safety``: the database must be the
default one, since data migrations (``RunPython``) write through it.
"""

from __future__ import annotations

import json
import os
import re
import sys

APPS = {"merchants", "payments", "webhooks", "recurring"}


def applied_sql() -> dict[str, list[str]]:
    """``"app.migration"`` -> its statements, in the order they ran."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor
    from django.test.utils import CaptureQueriesContext

    spans: dict[str, list[int]] = {}
    executor = MigrationExecutor(connection)
    with CaptureQueriesContext(connection) as captured:

        def progress(action, migration=None, fake=False):
            if action in ("apply_start", "apply_success"):
                key = f"{migration.app_label}.{migration.name}"
                spans.setdefault(key, []).append(len(captured.captured_queries))

        executor.progress_callback = progress
        executor.migrate(executor.loader.graph.leaf_nodes())
    return {
        key: [
            # Django runs "SET CONSTRAINTS … IMMEDIATE; ALTER TABLE …" as one.
            part
            for query in captured.captured_queries[start:end]
            for part in re.split(r";\s+", query["sql"])
            if part.strip()
        ]
        for key, (start, end) in spans.items()
        if key.split(".")[0] in APPS
    }


if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jopay_project.test_settings")
    import django

    django.setup()
    json.dump(applied_sql(), sys.stdout)
