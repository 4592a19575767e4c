"""``Plan.owed_due_at``: the slot a pause found due and not yet charged (D29).

Resume used to infer it from ``paused_at``, which also revived a slot skipped
by an earlier pause. Plans paused before this migration get the value that
inference gave them, so their next resume charges what it would have before.
"""

from django.db import migrations, models


def owed_at_pause(apps, schema_editor):
    # Pure slot arithmetic (D29), no models: safe to use from a migration.
    from recurring.schedule import latest_slot_at_or_before, slot_at

    Plan = apps.get_model("recurring", "Plan")
    Charge = apps.get_model("recurring", "Charge")
    paused = Plan.objects.filter(status="paused", paused_at__isnull=False)
    for plan in paused.only("pk", "anchor_at", "frequency", "paused_at").iterator():
        latest = latest_slot_at_or_before(
            plan.anchor_at, plan.frequency, plan.paused_at
        )
        if (
            latest is None
            or Charge.objects.filter(plan_id=plan.pk, slot=latest).exists()
        ):
            continue
        Plan.objects.filter(pk=plan.pk).update(
            owed_due_at=slot_at(plan.anchor_at, plan.frequency, latest)
        )


class Migration(migrations.Migration):
    dependencies = [("recurring", "0002_plan_customer_wallet_index")]

    operations = [
        migrations.AddField(
            model_name="plan",
            name="owed_due_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.RunPython(owed_at_pause, migrations.RunPython.noop),
    ]
