from django.db import migrations

from jopay_project.migration_ops import RemoveIndexConcurrently


class Migration(migrations.Migration):
    # The new index leads with the same column under the same condition, so
    # it serves every query this one did. Dropped CONCURRENTLY, alone.
    atomic = False

    dependencies = [("webhooks", "0006_delivery_pending_endpoint_due")]

    operations = [
        RemoveIndexConcurrently(
            model_name="webhookdelivery", name="delivery_pending_endpoint"
        ),
    ]
