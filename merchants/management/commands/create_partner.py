import json

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError
from django.db import transaction

from jopay_project.commands import OperatorCommand
from jopay_project.errors import JoPayError
from merchants.partners import partner_create


class Command(OperatorCommand):
    help = "Create a partner with one live and one test API key (D31)."

    def add_arguments(self, parser):
        parser.add_argument("--slug", required=True)
        parser.add_argument("--name", required=True)
        parser.add_argument("--currency", default="EUR", help="default currency")
        parser.add_argument("--currencies", help="enabled currencies, comma-separated")
        parser.add_argument("--min-amount", type=int, help="minor units of --currency")
        parser.add_argument("--max-amount", type=int, help="minor units of --currency")
        parser.add_argument("--webhook-url")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **opts):
        # Trimmed as --currencies' entries are: " usd" was refused as an
        # invalid choice. Empty (a script's unset "$CURRENCY") is said as such.
        currency = opts["currency"].strip().upper()
        if not currency:
            raise CommandError("--currency must not be empty; leave it out instead")
        currencies = [currency]
        # Not ``if opts["currencies"]``: an empty value (a script's unset
        # "$CURRENCIES") made a partner with the default currency alone.
        if opts["currencies"] is not None:
            currencies = [
                c.strip().upper() for c in opts["currencies"].split(",") if c.strip()
            ]
            if not currencies:
                raise CommandError(
                    "--currencies must not be empty; leave it out instead"
                )
        if currency not in currencies:
            currencies.insert(0, currency)
        # Not ``if opts["webhook_url"]`` alone: an empty value (a script's unset
        # "$WEBHOOK_URL") made a partner without webhooks, without a word.
        if opts["webhook_url"] is not None and not opts["webhook_url"].strip():
            raise CommandError("--webhook-url must not be empty; leave it out instead")
        for flag in ("min_amount", "max_amount"):
            if opts[flag] is not None and opts[flag] < 0:
                raise CommandError(f"--{flag.replace('_', '-')} must not be negative")
        # One transaction: a refused --webhook-url leaves no partner and no
        # keys behind (keys that were never printed would be lost anyway), so
        # the operator can fix the URL and run the same command again.
        with transaction.atomic():
            try:
                made = partner_create(
                    slug=opts["slug"],
                    # "   " passed the model's blank check: a nameless partner.
                    name=opts["name"].strip(),
                    currency=currency,
                    currencies=currencies,
                    min_amount=opts["min_amount"],
                    max_amount=opts["max_amount"],
                )
            except ValidationError as exc:
                raise CommandError(
                    "; ".join(
                        f"{field}: {' '.join(msgs)}"
                        for field, msgs in exc.message_dict.items()
                    )
                ) from None
            secret = None
            if opts["webhook_url"]:
                secret = _enable_webhook(made.partner, opts["webhook_url"])
        out = {
            "partner_id": str(made.partner.pk),
            "slug": made.partner.slug,
            "live_key": made.live_key,
            "test_key": made.test_key,
            "webhook_secret": secret,
        }
        if opts["json"]:
            self.stdout.write(json.dumps(out))
            return
        self.stdout.write(f"Partner {made.partner.slug} ({made.partner.pk})")
        self.stdout.write(f"  live key: {made.live_key}")
        self.stdout.write(f"  test key: {made.test_key}")
        if secret:
            self.stdout.write(f"  webhook secret: {secret}")
        self.stdout.write(
            "Keys are shown once; hand them over on an encrypted channel."
        )


def _enable_webhook(partner, url: str) -> str | None:
    """Set and enable the partner's webhook (D26 checks the URL), else CommandError."""
    from webhooks.services import webhook_endpoint_set

    try:
        _, secret = webhook_endpoint_set(partner=partner, url=url, enabled=True)
    except JoPayError as exc:
        raise CommandError(
            f"--webhook-url {url!r} refused ({exc.code}): {exc.message} "
            "Nothing was created."
        ) from None
    return secret
