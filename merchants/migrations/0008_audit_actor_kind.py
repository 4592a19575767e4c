from django.db import migrations, models

from jopay_project.migration_ops import AddIndexConcurrently


class Migration(migrations.Migration):
    # Built CONCURRENTLY on PostgreSQL (entries are written meanwhile); the
    # build only. The admin's filter by actor kind (merchants.admin.audit).
    atomic = False

    dependencies = [("merchants", "0007_audit_target_upper")]

    operations = [
        AddIndexConcurrently(
            model_name="auditentry",
            index=models.Index(fields=["actor_kind", "-id"], name="audit_actor_kind"),
        ),
    ]
