import decimal

from django.db import migrations

import jopay_project.fields

# Frozen here (the migration must not change when the field class does).
MAX_DIGITS, DECIMAL_PLACES = 38, 18


def _canonical(text):
    """The old column's value (a REAL, copied to TEXT by the table rebuild) in
    ExactDecimalField's fixed-width form, as that class wrote it when this
    migration was made. It is the number the old code read: the double's 15
    significant digits, at 18 places."""
    if text is None:
        return None
    read = decimal.Context(prec=15).create_decimal_from_float(float(text))
    step = decimal.Decimal(1).scaleb(-DECIMAL_PLACES)
    context = decimal.Context(prec=MAX_DIGITS, rounding=decimal.ROUND_HALF_UP)
    rounded = read.quantize(step, context=context).copy_abs()
    whole, _, fraction = format(rounded, "f").partition(".")
    sign = "-" if read < 0 else ""
    return f"{sign}{whole.zfill(MAX_DIGITS - DECIMAL_PLACES)}.{fraction}"


class AlterFieldToText(migrations.AlterField):
    """``AlterField`` that, on SQLite, also rewrites the column's values.

    The table rebuild copies each old REAL into the TEXT column as SQLite
    prints it (0.92 -> "0.92"), which is not the field's fixed-width form and
    fails the text comparison of a check such as ``fx_rate_positive``
    ("0.92" < "00000000000000000000.0..."). So checks are off for the copy;
    the values are then rewritten, checks on, so every row is checked again,
    all in the migration's transaction. On PostgreSQL: plain ``AlterField``,
    which runs no SQL here (the column stays numeric(38, 18)).
    """

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        connection = schema_editor.connection
        if connection.vendor != "sqlite":
            super().database_forwards(app_label, schema_editor, from_state, to_state)
            return
        model = to_state.apps.get_model(app_label, self.model_name)
        table = schema_editor.quote_name(model._meta.db_table)
        column = schema_editor.quote_name(model._meta.get_field(self.name).column)
        connection.ensure_connection()
        connection.connection.create_function(
            "jopay_rate_text", 1, _canonical, deterministic=True
        )
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA ignore_check_constraints = ON")
            try:
                super().database_forwards(
                    app_label, schema_editor, from_state, to_state
                )
            finally:
                cursor.execute("PRAGMA ignore_check_constraints = OFF")
            # With the checks on again: every rewritten row is checked.
            cursor.execute(f"UPDATE {table} SET {column} = jopay_rate_text({column})")


class Migration(migrations.Migration):
    # PostgreSQL: the columns stay numeric(38, 18); `sqlmigrate` prints no SQL
    # (no table rewrite, no lock beyond the migration's own).
    # SQLite (D30): each table is rebuilt with a TEXT column and its values
    # rewritten in the field's form (AlterFieldToText), in one transaction.
    dependencies = [
        ("payments", "0008_request_base_expiry"),
    ]

    operations = [
        AlterFieldToText(
            model_name="fxrate",
            name="rate",
            field=jopay_project.fields.ExactDecimalField(
                decimal_places=18, max_digits=38
            ),
        ),
        AlterFieldToText(
            model_name="paymentrequest",
            name="fx_rate",
            field=jopay_project.fields.ExactDecimalField(
                decimal_places=18, max_digits=38
            ),
        ),
    ]
