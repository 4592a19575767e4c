import json
import secrets

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError

from jopay_project.commands import OperatorCommand
from jopay_project.errors import JoPayError
from merchants.models import Partner
from merchants.partners import partner_user_create
from merchants.validation import validate_email


class Command(OperatorCommand):
    help = "Create a portal user of a partner (D31)."

    def add_arguments(self, parser):
        parser.add_argument("--partner", required=True, help="partner slug")
        parser.add_argument("--email", required=True)
        parser.add_argument("--password", help="generated and printed when omitted")
        parser.add_argument("--json", action="store_true")

    def handle(self, *args, **opts):
        partner = Partner.objects.filter(slug=opts["partner"]).first()
        if partner is None:
            raise CommandError(f"no partner with slug {opts['partner']!r}")
        if not partner.is_active:
            # Made all the same (the partner may be switched on again), but
            # said: until then the user cannot sign in.
            self.stderr.write(
                f"warning: partner {partner.slug!r} is switched off; until it is"
                " switched on again the user cannot sign in"
            )
        email = opts["email"].strip()
        try:
            # The rule of every other e-mail in JoPay (user@domain.tld): the old
            # check took "a b@c" and "x@@y" as logins (and as their mail address).
            validate_email(email)
        except JoPayError:
            raise CommandError(f"--email {email!r} is not an e-mail address") from None
        # Not ``not opts["password"]``: an empty value (a script's unset
        # "$PASSWORD") made a random password instead of the one meant.
        if opts["password"] is not None and not opts["password"].strip():
            raise CommandError(
                "--password must not be empty; leave it out to have one generated"
            )
        generated = opts["password"] is None
        password = secrets.token_urlsafe(15) if generated else opts["password"]
        try:
            validate_password(password)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        try:
            pu = partner_user_create(partner=partner, email=email, password=password)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        out = {
            "user_id": pu.user.pk,
            "email": pu.user.email,
            "partner": partner.slug,
            # D31: printed when generated. One the operator chose is never
            # echoed into a terminal's scrollback or a provisioning log.
            "password": password if generated else None,
        }
        if opts["json"]:
            self.stdout.write(json.dumps(out))
        elif generated:
            self.stdout.write(
                f"{pu.user.email} can log in at /portal/login/ (password: {password})"
            )
        else:
            self.stdout.write(
                f"{pu.user.email} can log in at /portal/login/ with the password given"
            )
