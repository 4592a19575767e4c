"""The base of D31's operator commands: a database that does not answer is the
command's one-line error (exit 1), not psycopg's traceback."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import InterfaceError, OperationalError


class OperatorCommand(BaseCommand):
    """``BaseCommand`` whose database outage is a ``CommandError``.

    Guarantees: a connection refused, dropped or timed out (``OperationalError``
    / ``InterfaceError``) ends the command with ``CommandError: the database
    did not answer (…)``; every other error is left as Django reports it.
    """

    def execute(self, *args, **options):
        try:
            return super().execute(*args, **options)
        except (OperationalError, InterfaceError) as exc:
            # psycopg's message spans lines (a hint after the error): one line
            # for scripts that read stderr.
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise CommandError(f"the database did not answer ({reason})") from None
