"""The base of D31's operator commands: a database that does not answer, or an
argument the database cannot store, is the command's one-line error (exit 1),
not psycopg's traceback."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import InterfaceError, OperationalError


class OperatorCommand(BaseCommand):
    """``BaseCommand`` whose database outage and unstorable text are ``CommandError``.

    Guarantees: a connection refused, dropped or timed out (``OperationalError``
    / ``InterfaceError``) ends the command with ``CommandError: the database
    did not answer (…)``; an option whose text is not valid UTF-8 (bytes a
    shell passed from a file in another encoding reach Python as lone
    surrogates) or holds a NUL character ends it with ``CommandError: --name
    is not valid UTF-8 text`` (or ``must not contain a NUL``) before anything
    runs; every other error is left
    as Django reports it.
    """

    def execute(self, *args, **options):
        # psycopg refused such text deep inside the first query with a
        # UnicodeEncodeError traceback, after the command had begun its work.
        for dest, text in _texts(options):
            if not _is_utf8(text):
                raise CommandError(f"{self._flag(dest)} is not valid UTF-8 text")
            if "\x00" in text:  # PostgreSQL text cannot hold it
                raise CommandError(f"{self._flag(dest)} must not contain a NUL")
        try:
            return super().execute(*args, **options)
        except (OperationalError, InterfaceError) as exc:
            # psycopg's message spans lines (a hint after the error): one line
            # for scripts that read stderr.
            reason = " ".join(str(exc).split()) or type(exc).__name__
            raise CommandError(f"the database did not answer ({reason})") from None

    def _flag(self, dest: str) -> str:
        """The option as the operator typed it (``rpc_urls`` is ``--rpc-url``)."""
        for action in self.create_parser("manage.py", "command")._actions:
            if action.dest == dest and action.option_strings:
                return action.option_strings[-1]
        return f"--{dest.replace('_', '-')}"


def _texts(options: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for dest, value in options.items():
        for item in value if isinstance(value, list | tuple) else [value]:
            if isinstance(item, str):
                yield dest, item


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
