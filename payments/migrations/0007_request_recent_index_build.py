from django.db import migrations, models

from jopay_project.migration_ops import AddIndexConcurrently


class Migration(migrations.Migration):
    # The index is built CONCURRENTLY on PostgreSQL: creates go on meanwhile.
    # Alone in its migration: nothing else here runs outside a transaction.
    atomic = False

    dependencies = [("payments", "0006_request_recent_index")]

    operations = [
        AddIndexConcurrently(
            model_name="paymentrequest",
            index=models.Index(fields=["-created_at", "-id"], name="request_recent"),
        ),
    ]
