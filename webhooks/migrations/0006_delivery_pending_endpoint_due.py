from django.db import migrations, models

from jopay_project.migration_ops import AddIndexConcurrently


class Migration(migrations.Migration):
    # Built CONCURRENTLY on PostgreSQL: events go on being written meanwhile.
    # Alone in its migration: nothing else here runs outside a transaction.
    atomic = False

    dependencies = [("webhooks", "0005_endpoint_probe_until")]

    operations = [
        AddIndexConcurrently(
            model_name="webhookdelivery",
            index=models.Index(
                condition=models.Q(state="pending"),
                fields=["endpoint", "next_attempt_at"],
                name="delivery_pending_endpoint_due",
            ),
        ),
    ]
