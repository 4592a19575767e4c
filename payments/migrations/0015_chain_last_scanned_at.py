from django.db import migrations, models


class Migration(migrations.Migration):
    # A nullable column (as 0014): a brief lock, no table rewrite.
    dependencies = [("payments", "0014_chain_watch_from")]

    operations = [
        migrations.AddField(
            model_name="chain",
            name="last_scanned_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
