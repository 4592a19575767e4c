"""Move each request's event counter up to its highest stored event (D23).

webhooks 0004 filled the counter from the events stored when it ran; a process
of the release before it that kept writing events afterwards (a rolling
deploy) numbered them from the events and left the counter behind, so the
request's next event hit the unique constraint and its state change rolled
back, every time (docs/MIGRATIONS.md). This repairs any such request. It only
reads the events and raises counters (never lowers one), so it is a no-op on
a database that had no old process running, and safe to run again.
"""

from django.db import migrations

CATCH_UP = (
    "INSERT INTO webhooks_requesteventsequence (request_id, last) "
    "SELECT request_id, MAX(sequence) FROM webhooks_webhookevent "
    "WHERE request_id IS NOT NULL AND sequence IS NOT NULL GROUP BY request_id "
    "ON CONFLICT (request_id) DO UPDATE SET last = EXCLUDED.last "
    "WHERE webhooks_requesteventsequence.last < EXCLUDED.last"
)


class Migration(migrations.Migration):
    dependencies = [
        ("webhooks", "0007_drop_delivery_pending_endpoint"),
    ]

    operations = [
        migrations.RunSQL(CATCH_UP, reverse_sql=migrations.RunSQL.noop),
    ]
