from django.db import migrations, models

from jopay_project.migration_ops import AddIndexConcurrently


class Migration(migrations.Migration):
    # Built CONCURRENTLY on PostgreSQL (plans are created meanwhile); the build only.
    atomic = False

    dependencies = [("recurring", "0001_initial")]

    operations = [
        AddIndexConcurrently(
            model_name="plan",
            index=models.Index(fields=["customer_wallet"], name="plan_customer_wallet"),
        ),
    ]
