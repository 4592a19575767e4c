"""``charge_recurring_plans`` (D35): run the recurring charging job once, now."""

from __future__ import annotations

import argparse
import math
from datetime import UTC, datetime

from django.core.management.base import CommandError, CommandParser

from jopay_project.commands import OperatorCommand
from jopay_project.formats import parse_instant
from recurring.services import plans_charge_due
from recurring.services.charging import BATCH_SIZE, BUDGET_SECONDS

# A batch is one query's LIMIT: beyond PostgreSQL's bigint it was a DataError
# traceback (D31 wants a one-line error), and a batch this large already holds
# every due plan's lock for the whole run.
MAX_BATCH_SIZE = 10_000


# A slot's next due time and its request's expiry are computed from --now: in
# 9999 they overflowed, and every due plan was logged as a crash and skipped.
LAST_NOW = datetime(9999, 1, 1, tzinfo=UTC)


def _instant(value: str) -> datetime:
    # An argparse type: ArgumentTypeError becomes a usage error (exit 2, no
    # traceback), and a CommandError under call_command().
    # D1: times are UTC; a time without an offset is read as UTC.
    try:
        now = parse_instant(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be an ISO 8601 time, not {value!r}"
        ) from None
    if now >= LAST_NOW:
        raise argparse.ArgumentTypeError(
            f"must be an ISO 8601 time before 9999-01-01 UTC, not {value!r}"
        )
    return now


class Command(OperatorCommand):
    help = (
        "Charge every active recurring plan that is due: one invoice payment "
        "request per due slot (D29). Safe to run twice. Prints a one-line summary."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--now",
            type=_instant,
            default=None,
            help="treat this ISO 8601 time as now (default: the clock)",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=BATCH_SIZE,
            help=f"plans read at a time, 1 … {MAX_BATCH_SIZE} (default {BATCH_SIZE})",
        )
        parser.add_argument(
            "--budget-seconds",
            type=float,
            default=BUDGET_SECONDS,
            help=f"start no plan after this many seconds (default {BUDGET_SECONDS})",
        )

    def handle(self, *args, **opts) -> None:
        if not 1 <= opts["batch_size"] <= MAX_BATCH_SIZE:
            raise CommandError(f"--batch-size must be within 1 … {MAX_BATCH_SIZE}")
        # nan compares false with every elapsed time and inf is never reached:
        # either would be a run without a budget.
        budget = opts["budget_seconds"]
        if not (math.isfinite(budget) and budget > 0):
            raise CommandError("--budget-seconds must be a positive number of seconds")
        summary = plans_charge_due(
            now=opts["now"],
            batch_size=opts["batch_size"],
            budget_seconds=opts["budget_seconds"],
        )
        self.stdout.write(summary.line())
