"""Checks the events stored before 0014's CHECK, without blocking writes
(SHARE UPDATE EXCLUSIVE); see payments 0018."""

from django.db import migrations

from jopay_project.migration_ops import ValidateConstraint


class Migration(migrations.Migration):
    dependencies = [("webhooks", "0014_event_request_has_sequence")]

    operations = [ValidateConstraint("webhookevent", "event_request_has_sequence")]
