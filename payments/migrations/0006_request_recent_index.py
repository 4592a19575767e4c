import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    # In a transaction: on SQLite this rebuilds the table (copy, drop, rename),
    # which must not be cut in half. On PostgreSQL it is one DROP INDEX.
    dependencies = [
        ("merchants", "0002_partner_slug_full_match"),
        ("payments", "0005_rescan_from_watch_cursor"),
    ]

    operations = [
        migrations.AlterField(
            model_name="paymentrequest",
            name="partner",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="merchants.partner",
            ),
        ),
    ]
