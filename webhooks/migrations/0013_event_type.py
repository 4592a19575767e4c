from django.db import migrations, models

from jopay_project.migration_ops import AddIndexConcurrently


class Migration(migrations.Migration):
    # Built CONCURRENTLY on PostgreSQL: events go on being written meanwhile.
    # Alone in its migration: nothing else here runs outside a transaction.
    # The admin's filter by event type (webhooks.admin).
    atomic = False

    dependencies = [("webhooks", "0012_delivery_unsettled")]

    operations = [
        AddIndexConcurrently(
            model_name="webhookevent",
            index=models.Index(fields=["type", "-created_at", "-id"], name="event_type"),
        ),
    ]
