from django.db import migrations, models

from jopay_project.migration_ops import AddIndexConcurrently


class Migration(migrations.Migration):
    # Built CONCURRENTLY on PostgreSQL: deliveries go on being written
    # meanwhile. Alone in its migration: nothing else here runs outside a
    # transaction. The admin's filter by abandoned reason (webhooks.admin).
    atomic = False

    dependencies = [("webhooks", "0010_endpoint_slow_since")]

    operations = [
        AddIndexConcurrently(
            model_name="webhookdelivery",
            index=models.Index(
                condition=models.Q(("abandoned_reason", ""), _negated=True),
                fields=["abandoned_reason", "created_at", "id"],
                name="delivery_abandoned",
            ),
        ),
    ]
