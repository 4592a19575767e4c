from django.db import migrations, models


class Migration(migrations.Migration):
    # A column with a constant default and no CHECK: one catalog change under
    # a brief lock, no table rewrite or scan (PostgreSQL 11+); db_default lets
    # the previous release's INSERTs, which do not name it, go on.
    dependencies = [("payments", "0015_chain_last_scanned_at")]

    operations = [
        migrations.AddField(
            model_name="paymentrequest",
            name="rpc_failures",
            field=models.IntegerField(db_default=0, default=0),
        ),
    ]
