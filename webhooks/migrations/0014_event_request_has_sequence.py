"""D23: an event about a request carries its sequence number (a NULL one
escapes event_request_sequence_unique). Added NOT VALID (no scan, a brief
lock), validated by 0015 (docs/MIGRATIONS.md)."""

from django.db import migrations, models

from jopay_project.migration_ops import AddConstraintNotValid


class Migration(migrations.Migration):
    dependencies = [
        ("merchants", "0008_audit_actor_kind"),
        ("webhooks", "0013_event_type"),
    ]

    operations = [
        AddConstraintNotValid(
            model_name="webhookevent",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("request_id__isnull", True),
                    models.Q(("sequence__gte", 1), ("sequence__isnull", False)),
                    _connector="OR",
                ),
                name="event_request_has_sequence",
            ),
        ),
    ]
