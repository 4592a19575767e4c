"""``set_fx_rate --currency EUR --rate 0.92 [--partner SLUG] [--clear]`` (D31)."""

from __future__ import annotations

from django.core.management.base import CommandError, CommandParser

from jopay_project.commands import OperatorCommand
from merchants.models import Partner
from payments.money import is_supported, rate_from_text
from payments.services.fx import (
    fx_rate_clear_manual,
    fx_rate_needs_second_look,
    fx_rate_set_manual,
)


class Command(OperatorCommand):
    help = (
        "Store a pinned manual FX rate (fiat units per 1 USDC, source 'manual'), "
        "globally or for one partner; --clear removes the pin."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--currency", required=True, help="ISO 4217 code, e.g. EUR")
        parser.add_argument("--rate", help="fiat units per 1 USDC, e.g. 0.92")
        parser.add_argument("--partner", help="partner slug (default: the global rate)")
        parser.add_argument(
            "--clear", action="store_true", help="remove the manual pin"
        )

    def handle(
        self,
        *args,
        currency: str,
        rate: str | None,
        partner: str | None,
        clear: bool,
        **options,
    ) -> None:
        # An operator's "eur" means EUR; the code is stored upper-case.
        currency = currency.strip().upper() if currency.isascii() else currency
        if not is_supported(currency):
            raise CommandError(
                f"{currency!r} is not one of the 28 supported currencies"
            )
        owner = None
        # Not ``if partner``: an empty --partner (a script's unset "$SLUG") read
        # as no --partner pinned or cleared the global rate of every partner.
        if partner is not None:
            owner = Partner.objects.filter(slug=partner).first()
            if owner is None:
                raise CommandError(f"no partner with slug {partner!r}")
        scope = f"partner {owner.slug}" if owner else "global"
        if clear:
            if rate is not None:
                raise CommandError("--clear takes no --rate")
            cleared = fx_rate_clear_manual(currency=currency, partner=owner)
            verb = "cleared" if cleared else "had no"
            self.stdout.write(f"{currency} ({scope}): {verb} manual rate")
            return
        if rate is None:
            raise CommandError("--rate is required (or --clear)")
        value = rate_from_text(rate)
        if value is None:
            raise CommandError(
                f"--rate must be a positive decimal like 0.92, not {rate!r}"
            )
        # The admin and the portal ask for a second look at a rate this far
        # from the global one (an inverted USD per EUR, a typo); a pin never
        # goes stale, so here it is said at least (stderr: scripts read stdout).
        try:
            off = fx_rate_needs_second_look(currency=currency, rate=value)
        except ArithmeticError:  # a rate out of range: refused just below
            off = None
        try:
            stored = fx_rate_set_manual(currency=currency, rate=value, partner=owner)
        except ValueError as exc:  # the service says which rule it broke
            raise CommandError(f"--rate {rate}: {exc}") from None
        if off is not None:
            self.stderr.write(
                f"warning: {value.normalize():f} is {off:.0%} away from the global "
                f"{currency} rate; a rate is {currency} per 1 USDC. Pinned all the "
                "same: it never goes stale, so check it."
            )
        self.stdout.write(
            f"{currency} ({scope}): {stored.rate.normalize():f} per USDC, "
            "source manual, pinned"
        )
