import json

from django.core.management.base import CommandError
from django.utils import timezone

from jopay_project.commands import OperatorCommand
from jopay_project.formats import iso, parse_instant
from merchants.keys import VALID_SCOPES, api_key_create
from merchants.models import Partner


class Command(OperatorCommand):
    help = "Create an API key for a partner; the key is printed once (D6, D31)."

    def add_arguments(self, parser):
        parser.add_argument("--partner", required=True, help="partner slug")
        parser.add_argument("--mode", required=True, choices=["test", "live"])
        parser.add_argument("--name", default="")
        parser.add_argument(
            "--scope",
            # D31 writes `[--scope SCOPE ...]`: several after one flag, and the
            # flag repeated (README, docs) both add to the list.
            action="extend",
            nargs="+",
            dest="scopes",
            choices=sorted(VALID_SCOPES),
            help="one or more, or repeat the flag; omit for an unrestricted key",
        )
        parser.add_argument("--expires-at", help="ISO 8601, in the future")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **opts):
        partner = Partner.objects.filter(slug=opts["partner"]).first()
        if partner is None:
            raise CommandError(f"no partner with slug {opts['partner']!r}")
        if not partner.is_active:
            # Made all the same (the partner may be switched on again), but
            # said: until then the key answers auth_failed.
            self.stderr.write(
                f"warning: partner {partner.slug!r} is switched off; until it is"
                " switched on again the key answers auth_failed"
            )
        expires_at = None
        # Not ``if opts["expires_at"]``: an empty value (a script's unset
        # "$EXPIRES") made a key that never expires (D8).
        if opts["expires_at"] is not None:
            # In UTC (D1, no offset means UTC): an instant past 9999-12-31 UTC
            # ("9999-12-31T23:00-05:00") is refused here. Stored, it was a
            # timestamp Python cannot read back: the key was created, then the
            # command failed printing it and every read of the key failed.
            try:
                expires_at = parse_instant(opts["expires_at"])
            except ValueError:
                raise CommandError(
                    "--expires-at must be an ISO 8601 time up to 9999-12-31 UTC"
                ) from None
            if expires_at <= timezone.now():
                raise CommandError("--expires-at is in the past")
        try:
            key, full = api_key_create(
                partner=partner,
                test_mode=opts["mode"] == "test",
                name=opts["name"],
                scopes=opts["scopes"],
                expires_at=expires_at,
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        out = {
            "key_id": str(key.pk),
            "key": full,
            "mode": key.mode,
            "scopes": key.scopes,
            "expires_at": iso(key.expires_at),
        }
        if opts["json"]:
            self.stdout.write(json.dumps(out))
        else:
            self.stdout.write(f"{full}\n(id {key.pk}; shown once)")
