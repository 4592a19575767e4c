"""Migration operations for the big, busy tables (indexes and CHECKs).

``AddIndexConcurrently`` builds an index on PostgreSQL with ``CREATE INDEX
CONCURRENTLY``: a plain build holds a lock that blocks every insert into the
table (every create) until it finishes, minutes on a large requests table.
On the embedded SQLite default (D30) it is a plain ``AddIndex``. A migration
using it must set ``atomic = False`` (PostgreSQL cannot build concurrently
inside a transaction) and hold no other operation, which would then run
outside a transaction too (on SQLite, an altered field rebuilds the table:
copy, drop, rename, which must not be cut in half). A build that fails
leaves an INVALID index, which a rerun drops and builds again.
"""

from __future__ import annotations

from django.db import migrations


class AddIndexConcurrently(migrations.AddIndex):
    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)
            return
        model = to_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            name = schema_editor.quote_name(self.index.name)
            # A build interrupted earlier left an INVALID index of this name.
            schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
            schema_editor.add_index(model, self.index, concurrently=True)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)
            return
        model = from_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            schema_editor.remove_index(model, self.index, concurrently=True)


class RemoveIndexConcurrently(migrations.RemoveIndex):
    """``DROP INDEX CONCURRENTLY`` on PostgreSQL (a plain drop waits for, and
    then blocks, every query on the table); a plain ``RemoveIndex`` elsewhere.
    The same rules as ``AddIndexConcurrently``: ``atomic = False``, alone."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)
            return
        model = from_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            index = from_state.models[
                app_label, self.model_name_lower
            ].get_index_by_name(self.name)
            schema_editor.remove_index(model, index, concurrently=True)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            super().database_backwards(app_label, schema_editor, from_state, to_state)
            return
        model = to_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            index = to_state.models[app_label, self.model_name_lower].get_index_by_name(
                self.name
            )
            # A rebuild interrupted earlier left an INVALID index of this name.
            name = schema_editor.quote_name(index.name)
            schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
            schema_editor.add_index(model, index, concurrently=True)


class AddConstraintNotValid(migrations.AddConstraint):
    """A CHECK added ``NOT VALID`` on PostgreSQL: one catalog change under a
    brief lock, no scan; new and updated rows are checked from then on. Pair
    it with ``ValidateConstraint`` in a later migration, which checks the old
    rows without blocking writes. On SQLite (D30), a plain ``AddConstraint``
    (the table is rebuilt and every row checked at once)."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            super().database_forwards(app_label, schema_editor, from_state, to_state)
            return
        model = to_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            sql = self.constraint.constraint_sql(model, schema_editor)
            table = schema_editor.quote_name(model._meta.db_table)
            schema_editor.execute(f"ALTER TABLE {table} ADD {sql} NOT VALID")


class ValidateConstraint(migrations.operations.base.Operation):
    """``ALTER TABLE … VALIDATE CONSTRAINT`` on PostgreSQL: reads the table
    under SHARE UPDATE EXCLUSIVE, which blocks no insert, update or read. A
    row that breaks the constraint fails the migration (and names it); the
    constraint stays NOT VALID and still checks every new write. No SQL
    elsewhere, and none backwards (a validated constraint is dropped by the
    reverse of its ``AddConstraintNotValid``)."""

    reduces_to_sql = True
    reversible = True

    def __init__(self, model_name: str, name: str):
        self.model_name = model_name
        self.name = name

    def deconstruct(self):
        return (
            self.__class__.__name__,
            [],
            {"model_name": self.model_name, "name": self.name},
        )

    def state_forwards(self, app_label, state):
        pass

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return
        model = to_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            table = schema_editor.quote_name(model._meta.db_table)
            name = schema_editor.quote_name(self.name)
            schema_editor.execute(f"ALTER TABLE {table} VALIDATE CONSTRAINT {name}")

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        pass

    def describe(self):
        return f"Validate constraint {self.name} on model {self.model_name}"
