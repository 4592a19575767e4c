from django.db import migrations, models

from jopay_project.migration_ops import AddIndexConcurrently


class Migration(migrations.Migration):
    # Built CONCURRENTLY on PostgreSQL (creates go on meanwhile); the build only.
    atomic = False

    dependencies = [("payments", "0009_fx_rate_exact_on_sqlite")]

    operations = [
        AddIndexConcurrently(
            model_name="paymentrequest",
            index=models.Index(
                fields=["tx_hash"],
                condition=models.Q(("tx_hash__isnull", False)),
                name="request_tx_hash",
            ),
        ),
    ]
