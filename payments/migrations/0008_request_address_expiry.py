from django.db import migrations, models

from jopay_project.migration_ops import AddIndexConcurrently


class Migration(migrations.Migration):
    # Built CONCURRENTLY on PostgreSQL (creates go on meanwhile); alone here.
    atomic = False

    dependencies = [("payments", "0007_request_recent_index_build")]

    operations = [
        AddIndexConcurrently(
            model_name="paymentrequest",
            index=models.Index(
                fields=["receiving_address", "expires_at"],
                include=["usdc_micro"],
                name="request_address_expiry",
            ),
        ),
    ]
