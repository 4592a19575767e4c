from django.db import migrations, models
from django.db.models.functions import Upper

from jopay_project.migration_ops import AddIndexConcurrently


class Migration(migrations.Migration):
    # Built CONCURRENTLY on PostgreSQL (entries are written meanwhile); the
    # build only. The admin's audit search by target (merchants.admin.audit).
    atomic = False

    dependencies = [("merchants", "0006_audit_actor_upper")]

    operations = [
        AddIndexConcurrently(
            model_name="auditentry",
            index=models.Index(Upper("target"), name="audit_target_upper"),
        ),
    ]
