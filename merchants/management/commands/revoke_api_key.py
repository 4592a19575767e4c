from django.core.management.base import CommandError

from jopay_project.commands import OperatorCommand
from jopay_project.formats import iso, parse_uuid_text
from merchants.keys import api_key_revoke
from merchants.models import ApiKey


class Command(OperatorCommand):
    help = "Revoke an API key; effective on the next request (D8)."

    def add_arguments(self, parser):
        parser.add_argument("--key-id", required=True)

    def handle(self, *args, **opts):
        try:
            key_id = parse_uuid_text(opts["key_id"])
        except ValueError:
            raise CommandError("--key-id must be a UUID") from None
        key = ApiKey.objects.filter(pk=key_id).first()
        if key is None:
            raise CommandError(f"no API key {key_id}")
        key = api_key_revoke(key=key)
        self.stdout.write(f"revoked {key.prefix}… at {iso(key.revoked_at)}")  # D1
