"""``charge_recurring_plans`` (D35): run the recurring charging job once, now."""

from __future__ import annotations

import argparse
import math
from datetime import datetime

from django.core.management.base import BaseCommand, CommandError, CommandParser

from jopay_project.formats import parse_instant
from recurring.services import plans_charge_due
from recurring.services.charging import BATCH_SIZE, BUDGET_SECONDS


def _instant(value: str) -> datetime:
    # An argparse type: ArgumentTypeError becomes a usage error (exit 2, no
    # traceback), and a CommandError under call_command().
    # D1: times are UTC; a time without an offset is read as UTC.
    try:
        return parse_instant(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be an ISO 8601 time, not {value!r}"
        ) from None


class Command(BaseCommand):
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
        parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)
        parser.add_argument("--budget-seconds", type=float, default=BUDGET_SECONDS)

    def handle(self, *args, **opts) -> None:
        # NaN compares false with everything: "--budget-seconds nan" passed the
        # check and then never ran out (no budget at all), as "inf" did.
        budget = opts["budget_seconds"]
        if opts["batch_size"] < 1 or not math.isfinite(budget) or budget <= 0:
            raise CommandError(
                "--batch-size and --budget-seconds must be positive (and finite)"
            )
        summary = plans_charge_due(
            now=opts["now"],
            batch_size=opts["batch_size"],
            budget_seconds=opts["budget_seconds"],
        )
        self.stdout.write(summary.line())
