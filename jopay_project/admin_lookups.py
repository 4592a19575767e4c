"""Admin changelists never filter on secrets (D8, D25).

Django's admin accepts a querystring lookup on any of a model's own fields,
declared or not, so ``?secret__startswith=3f`` answered by the result count
is an oracle: one character at a time, a staff user who may only *view*
endpoints could read a webhook signing secret (about 1 000 requests).
"""

from __future__ import annotations

from django.db.models.constants import LOOKUP_SEP


class SecretLookupsRefusedMixin:
    """Refuse querystring lookups on ``secret_fields`` (the admin answers 400)."""

    secret_fields: tuple[str, ...] = ()

    def lookup_allowed(self, lookup, value, request=None) -> bool:
        if lookup.split(LOOKUP_SEP, 1)[0] in self.secret_fields:
            return False
        return super().lookup_allowed(lookup, value, request)
