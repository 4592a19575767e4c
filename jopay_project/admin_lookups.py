"""Admin changelist lookups: never on secrets (D8, D25), never a 500 on a date part.

Django's admin accepts a querystring lookup on any of a model's own fields,
declared or not, so ``?secret__startswith=3f`` answered by the result count
is an oracle: one character at a time, a staff user who may only *view*
endpoints could read a webhook signing secret (about 1 000 requests).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.admin import helpers
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import ValidationError
from django.db.models.constants import LOOKUP_SEP


class SecretLookupsRefusedMixin:
    """Refuse querystring lookups on ``secret_fields`` (the admin answers 400)."""

    secret_fields: tuple[str, ...] = ()

    def lookup_allowed(self, lookup, value, request=None) -> bool:
        if lookup.split(LOOKUP_SEP, 1)[0] in self.secret_fields:
            return False
        return super().lookup_allowed(lookup, value, request)


# Date parts a changelist lookup may name, and the values Python's ``datetime``
# can build their bounds from (iso_year needs the following year too).
_DATE_PARTS = {
    "year": (1, 9999),
    "iso_year": (1, 9998),
    "quarter": (1, 4),
    "month": (1, 12),
    "week": (1, 53),
    "day": (1, 31),
    "week_day": (1, 7),
    "iso_week_day": (1, 7),
    "hour": (0, 23),
    "minute": (0, 59),
    "second": (0, 59),
}
# Lookups whose value is a comma-separated list in the admin's query string.
_LIST_LOOKUPS = {"in", "range"}


def _bad_date_part(lookup: str, value: str) -> bool:
    parts = lookup.split(LOOKUP_SEP)
    named = [p for p in parts if p in _DATE_PARTS]
    if not named or parts[-1] == "isnull":
        return False
    low, high = _DATE_PARTS[named[-1]]
    pieces = value.split(",") if parts[-1] in _LIST_LOOKUPS else [value]
    return not all(
        p.isascii() and p.isdigit() and len(p) <= 4 and low <= int(p) <= high
        for p in pieces
    )


def _misshapen(lookup: str, value: str) -> bool:
    """A range that is not two values, or any regular-expression lookup.

    ``?id__range=1`` (Django unpacks two values: ``ValueError``) and
    ``?actor__regex=(`` (PostgreSQL's "invalid regular expression", a
    ``DataError``) were 500 pages on every changelist. No filter or link of
    the admin makes a regex lookup, and none could use an index on a big
    table, so the query string may not name one.
    """
    last = lookup.rsplit(LOOKUP_SEP, 1)[-1]
    if last in ("regex", "iregex"):
        return True
    return last == "range" and len(value.split(",")) != 2


def _unstorable(text: str) -> bool:
    """A NUL (PostgreSQL text cannot hold one) or a lone surrogate (no UTF-8)."""
    return "\x00" in text or any("\ud800" <= c <= "\udfff" for c in text)


class DatePartLookupsCheckedMixin:
    """A changelist given an impossible date part, a NUL in any lookup, a
    range of other than two values or a regex lookup (``_misshapen``)
    answers the admin's "invalid filter" page (``?e=1``), never a 500; an
    action posted with a malformed id does nothing (``response_action``).

    ``?created_at__year=-1`` (or ``=99999999999999999999``, or a
    ``date_hierarchy`` link edited by hand) passed Django's checks and failed
    while building the SQL (``ValueError: year -1 is out of range``,
    ``OverflowError``) as a 500 page. So did ``?status=%00`` on every text
    column (``DataError: PostgreSQL text fields cannot contain NUL``): each
    list filter, and any of the model's own fields, which the admin accepts as
    a lookup whether listed or not. (The search box's own form refuses a NUL.)
    """

    def get_changelist_instance(self, request):
        for lookup, values in request.GET.lists():
            if _unstorable(lookup) or any(_unstorable(v) for v in values):
                raise IncorrectLookupParameters(f"{lookup}: not storable text")
            if any(_bad_date_part(lookup, value) for value in values):
                raise IncorrectLookupParameters(f"{lookup}: not a valid date part")
            if any(_misshapen(lookup, value) for value in values):
                raise IncorrectLookupParameters(f"{lookup}: not a lookup taken here")
        return super().get_changelist_instance(request)

    def get_search_results(self, request, queryset, search_term):
        # The changelist's search form refuses a NUL; the autocomplete view
        # (/admin/autocomplete/?term=…, any relation to this model) did not,
        # and PostgreSQL's DataError on the LIKE was a 500.
        if _unstorable(search_term):
            return queryset.none(), False
        return super().get_search_results(request, queryset, search_term)

    def response_action(self, request, queryset):
        """An action whose selection holds a malformed id does nothing.

        Django filters ``pk__in`` with the posted ids as they are: "x" for a
        UUID key, a NUL, or a number past the column's range (``-1``, fifty
        digits) was a 500 for every action, Django's ``delete_selected`` on
        users too. The ids come from the list's own checkboxes, so only a
        hand-made POST holds such a value; it is sent back to the list.
        """
        pk = self.model._meta.pk
        for value in request.POST.getlist(helpers.ACTION_CHECKBOX_NAME):
            try:
                pk.clean(value, None)
            except ValidationError:
                self.message_user(
                    request,
                    "The selection holds an id that is not one of these rows; "
                    "nothing was done.",
                    messages.WARNING,
                )
                return None  # the changelist redirects back to itself
        return super().response_action(request, queryset)
