from django.db import migrations, models

from jopay_project.migration_ops import AddIndexConcurrently


class Migration(migrations.Migration):
    # Built CONCURRENTLY on PostgreSQL: deliveries go on being written
    # meanwhile. Alone in its migration: nothing else here runs outside a
    # transaction. The admin's filter by state (webhooks.admin).
    atomic = False

    dependencies = [("webhooks", "0011_delivery_abandoned")]

    operations = [
        AddIndexConcurrently(
            model_name="webhookdelivery",
            index=models.Index(
                condition=models.Q(("state", "delivered"), _negated=True),
                fields=["state", "created_at", "id"],
                name="delivery_unsettled",
            ),
        ),
    ]
