import django.db.models.expressions
from django.db import migrations, models

from jopay_project.migration_ops import AddIndexConcurrently


class Migration(migrations.Migration):
    # Built CONCURRENTLY on PostgreSQL (creates go on meanwhile); index builds only.
    atomic = False

    dependencies = [("payments", "0007_request_recent_index_build")]

    operations = [
        AddIndexConcurrently(
            model_name="paymentrequest",
            index=models.Index(
                models.F("receiving_address"),
                django.db.models.expressions.CombinedExpression(
                    models.F("usdc_micro"),
                    "-",
                    django.db.models.expressions.CombinedExpression(
                        models.F("usdc_micro"), "%%", models.Value(1000)
                    ),
                ),
                models.F("expires_at"),
                name="request_base_expiry",
            ),
        ),
        AddIndexConcurrently(
            model_name="paymentrequest",
            index=models.Index(
                models.F("receiving_address"),
                django.db.models.expressions.CombinedExpression(
                    models.F("usdc_micro"),
                    "-",
                    django.db.models.expressions.CombinedExpression(
                        models.F("usdc_micro"), "%%", models.Value(1000)
                    ),
                ),
                condition=models.Q(("status__in", ["requested", "opened"])),
                name="request_open_amount",
            ),
        ),
    ]
