"""Checks the rows stored before 0017's CHECKs (new writes are checked since
0017): a read of the table under SHARE UPDATE EXCLUSIVE, which blocks no
insert, update or read. A row that breaks one fails this migration and names
the constraint; docs/MIGRATIONS.md has the query that finds such rows."""

from django.db import migrations

from jopay_project.migration_ops import ValidateConstraint

NAMES = (
    "request_tx_hash_lower",
    "request_overpaid_not_negative",
)


class Migration(migrations.Migration):
    dependencies = [("payments", "0017_request_state_checks")]

    operations = [ValidateConstraint("paymentrequest", name) for name in NAMES]
