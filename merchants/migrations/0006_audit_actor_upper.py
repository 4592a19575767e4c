from django.db import migrations, models
from django.db.models.functions import Upper

from jopay_project.migration_ops import AddIndexConcurrently


class Migration(migrations.Migration):
    # Built CONCURRENTLY on PostgreSQL (entries are written meanwhile); the
    # build only. The admin's audit search by actor (merchants.admin.audit).
    atomic = False

    dependencies = [("merchants", "0005_db_defaults_for_rolling_deploys")]

    operations = [
        AddIndexConcurrently(
            model_name="auditentry",
            index=models.Index(Upper("actor"), name="audit_actor_upper"),
        ),
    ]
