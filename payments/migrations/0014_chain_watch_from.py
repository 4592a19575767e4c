from django.db import migrations, models


class Migration(migrations.Migration):
    # A nullable column (as payments 0005): a brief lock, no table rewrite.
    dependencies = [("payments", "0013_request_tenant_verified")]

    operations = [
        migrations.AddField(
            model_name="chain",
            name="watch_from",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
