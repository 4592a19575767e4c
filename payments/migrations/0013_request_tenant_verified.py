from django.db import migrations, models

from jopay_project.migration_ops import AddIndexConcurrently


class Migration(migrations.Migration):
    # Built CONCURRENTLY on PostgreSQL (creates go on meanwhile); the build only.
    # Partial: a create (proof_status "none") adds no entry to it.
    atomic = False

    dependencies = [("payments", "0012_db_defaults_for_rolling_deploys")]

    operations = [
        AddIndexConcurrently(
            model_name="paymentrequest",
            index=models.Index(
                fields=["partner", "test_mode", "-verified_at", "-id"],
                condition=models.Q(("proof_status", "verified")),
                name="request_tenant_verified",
            ),
        ),
    ]
