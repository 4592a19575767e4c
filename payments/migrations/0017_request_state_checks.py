"""CHECKs the code already keeps, so a bug or a hand edit (shell, SQL) cannot
write a row that breaks D20 (a hash in another spelling) or a negative
overpayment: added NOT VALID (no scan, a brief lock),
validated by 0018 (docs/MIGRATIONS.md)."""

import django.db.models.functions.text
import django.db.models.lookups
from django.db import migrations, models

from jopay_project.migration_ops import AddConstraintNotValid


class Migration(migrations.Migration):
    dependencies = [
        ("merchants", "0008_audit_actor_kind"),
        ("payments", "0016_request_rpc_failures"),
    ]

    operations = [
        AddConstraintNotValid(
            model_name="paymentrequest",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("tx_hash__isnull", True),
                    models.Q(
                        django.db.models.lookups.Exact(
                            django.db.models.functions.text.Length("tx_hash"), 66
                        ),
                        ("tx_hash", django.db.models.functions.text.Lower("tx_hash")),
                    ),
                    _connector="OR",
                ),
                name="request_tx_hash_lower",
            ),
        ),
        AddConstraintNotValid(
            model_name="paymentrequest",
            constraint=models.CheckConstraint(
                condition=models.Q(("overpaid_micro__gte", 0)),
                name="request_overpaid_not_negative",
            ),
        ),
    ]
