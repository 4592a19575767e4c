"""``Plan.owed_due_at``: the slot a pause found due and not yet charged (D29).

Resume used to infer it from ``paused_at``, which also revived a slot skipped
by an earlier pause. Plans paused before this migration get the value that
inference gave them, so their next resume charges what it would have before.
"""

from django.db import connections, migrations, models

BATCH = 1000


def owed_at_pause(apps, schema_editor):
    """One charge look-up and one pipelined batch of UPDATEs per thousand
    paused plans (it was two round trips a plan): the whole pass runs under
    AddField's ACCESS EXCLUSIVE lock on the plans table, which stalls every
    read of a plan until the migration commits (docs/MIGRATIONS.md)."""
    # Pure slot arithmetic (D29), no models: safe to use from a migration.
    from recurring.schedule import latest_slot_at_or_before, slot_at

    Plan = apps.get_model("recurring", "Plan")
    Charge = apps.get_model("recurring", "Charge")
    connection = connections[Plan.objects.db]
    ops, quote = connection.ops, connection.ops.quote_name
    owed_column = Plan._meta.get_field("owed_due_at").column
    update = (
        f"UPDATE {quote(Plan._meta.db_table)} SET {quote(owed_column)} = %s"
        f" WHERE {quote(Plan._meta.pk.column)} = %s"
    )
    paused = Plan.objects.filter(status="paused", paused_at__isnull=False)
    rows = paused.only("pk", "anchor_at", "frequency", "paused_at").order_by("pk")
    plans = list(rows)
    for first in range(0, len(plans), BATCH):
        latest = {}
        for plan in plans[first : first + BATCH]:
            slot = latest_slot_at_or_before(
                plan.anchor_at, plan.frequency, plan.paused_at
            )
            if slot is not None:
                latest[plan.pk] = (plan, slot)
        charged = set(
            Charge.objects.filter(
                plan_id__in=latest, slot__in={slot for _, slot in latest.values()}
            ).values_list("plan_id", "slot")
        )
        owed = [
            (
                ops.adapt_datetimefield_value(
                    slot_at(plan.anchor_at, plan.frequency, slot)
                ),
                Plan._meta.pk.get_db_prep_value(pk, connection),
            )
            for pk, (plan, slot) in latest.items()
            if (pk, slot) not in charged
        ]
        # executemany: one pipelined batch (bulk_update's CASE took 3 s a
        # thousand plans on its own).
        with connection.cursor() as cursor:
            cursor.executemany(update, owed)


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
