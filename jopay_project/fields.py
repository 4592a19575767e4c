"""Model fields shared by the apps.

``ExactDecimalField``: a ``DecimalField`` that keeps every digit on every
backend. PostgreSQL's ``numeric(p, s)`` is exact. SQLite, the embedded default
(D30), has no decimal type: Django declares the column ``decimal``, which has
NUMERIC affinity, so SQLite stores the value as a REAL (a double, about 15
significant digits) and an FX rate of 18 places (D14) came back rounded:
1.234567890123456789 read as 1.234567890123460000.
"""

from __future__ import annotations

import decimal
from decimal import Decimal

from django.db import DataError, models


class ExactDecimalField(models.DecimalField):
    """``numeric(max_digits, decimal_places)`` on PostgreSQL, unchanged; on
    SQLite a TEXT column holding the value in a fixed-width form.

    The SQLite form is the value rounded to ``decimal_places`` (half away from
    zero, as PostgreSQL's numeric rounds) with its whole part zero-padded to
    ``max_digits - decimal_places`` digits: ``0.92`` with (38, 18) is
    ``00000000000000000000.920000000000000000``. Fixed width keeps text order
    the numeric order for values >= 0, so SQL comparisons and ORDER BY (the
    admin sorts FX rates by rate) stay right; a negative value sorts below
    every other value but not among the negatives (the fields using this
    class hold rates, which are > 0). Equality lookups work on both backends;
    on SQLite a lookup value with more places is rounded first, as a stored
    value is.

    The internal type is this class's own name, not ``DecimalField``: SQLite's
    backend converter for ``DecimalField`` reads the column as a float.
    """

    def get_internal_type(self) -> str:
        return "ExactDecimalField"

    def db_type(self, connection) -> str:
        if connection.vendor == "sqlite":
            return "text"
        return connection.data_types["DecimalField"] % self.db_type_parameters(
            connection
        )

    def get_db_prep_value(self, value, connection, prepared=False):
        value = super().get_db_prep_value(value, connection, prepared)
        if connection.vendor != "sqlite" or value is None or hasattr(value, "as_sql"):
            return value
        return self.to_text(value)

    def from_db_value(self, value, expression, connection):
        if value is None or isinstance(value, Decimal):
            return value  # PostgreSQL (psycopg reads numeric as Decimal)
        if isinstance(value, float):  # SQL arithmetic on the SQLite column
            value = repr(value)
        return Decimal(value).quantize(self._step)

    @property
    def _step(self) -> Decimal:
        return Decimal(1).scaleb(-self.decimal_places)

    def to_text(self, value: Decimal) -> str:
        """The SQLite form of ``value`` (class docstring). Raises ``DataError``,
        as PostgreSQL does, when the whole part does not fit."""
        context = decimal.Context(
            prec=self.max_digits, rounding=decimal.ROUND_HALF_UP, traps=[]
        )
        rounded = value.quantize(self._step, context=context)
        whole_digits = self.max_digits - self.decimal_places
        if not rounded.is_finite() or rounded.adjusted() >= whole_digits:
            raise DataError(
                f"{value} does not fit numeric({self.max_digits}, "
                f"{self.decimal_places})"
            )
        if rounded.is_zero():
            rounded = rounded.copy_abs()  # no "-0"
        text = format(rounded.copy_abs(), "f")
        whole, dot, fraction = text.partition(".")
        sign = "-" if rounded.is_signed() else ""
        return f"{sign}{whole.zfill(whole_digits)}{dot}{fraction}"
