"""Migration operations for the big, busy tables.

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
