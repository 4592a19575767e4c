"""Admin search by exact identifier, so that every search can use an index.

Django's admin search turns each term into ``icontains`` (``UPPER(col) LIKE
'%…%'``) on every search field, OR-ed together, joins included: no index can
serve it, and an exact reference took 3 s at 1 M payment requests. The big
tables search by the term's shape instead, each shape on one indexed column:

- a UUID → the row's id (and the other ids the admin names, e.g. an event's
  ``request_id``);
- ``0x`` + 64 hex → a transaction hash (stored lower-case, D20);
- ``0x`` + 40 hex → an address, in each spelling it may be stored in;
- up to 12 letters and digits → a request reference (stored upper-case);
- lowercase letters and hyphens → a partner slug, looked up first, so the big
  table is filtered on its indexed ``partner_id``, not joined.

A term may fit two shapes (``paypal`` is a slug and a reference): rows that
match either are shown. Several terms, separated by spaces, find rows that
match any of them. A term that fits no shape (a malformed UUID too) finds
nothing; it is never an error.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterable

from django.apps import apps
from django.db.models import Q, QuerySet
from eth_utils import to_checksum_address

from jopay_project.formats import parse_uuid_text

_TX_HASH_RE = re.compile(r"0x[0-9a-fA-F]{64}\Z")
_ADDRESS_RE = re.compile(r"0x[0-9a-fA-F]{40}\Z")
# PaymentRequest.reference: 6 characters when generated, 12 at most.
_REFERENCE_RE = re.compile(r"[A-Za-z0-9]{1,12}\Z")
_SLUG_RE = re.compile(r"[a-z]+(?:-[a-z]+)*\Z")  # merchants.models.slug_validator
MAX_TERMS = 20

UUID, TX_HASH, ADDRESS, REFERENCE, PARTNER = (
    "uuid",
    "tx_hash",
    "address",
    "reference",
    "partner",
)


def address_spellings(address: str) -> list[str]:
    """Each way an address may be stored: as typed, lower, upper hex, EIP-55."""
    digits = address[2:]
    return sorted(
        {
            address,
            "0x" + digits.lower(),
            "0x" + digits.upper(),
            to_checksum_address("0x" + digits.lower()),
        }
    )


def term_values(term: str) -> dict[str, list]:
    """``{shape: values to look up}`` for every shape ``term`` fits."""
    found: dict[str, list] = {}
    with contextlib.suppress(ValueError):  # a malformed UUID is no UUID
        found[UUID] = [parse_uuid_text(term)]
    if _TX_HASH_RE.match(term):
        found[TX_HASH] = [term.lower()]
    if _ADDRESS_RE.match(term):
        found[ADDRESS] = address_spellings(term)
    if _REFERENCE_RE.match(term):
        found[REFERENCE] = [term.upper()]
    if _SLUG_RE.match(term.lower()):
        partner = apps.get_model("merchants", "Partner")
        ids = list(
            partner.objects.filter(slug=term.lower()).values_list("pk", flat=True)
        )
        if ids:
            found[PARTNER] = ids
    return found


class ExactSearchMixin:
    """``get_search_results`` by identifier shape (module docstring).

    ``exact_search`` maps a shape to the model's columns for it, each of them
    indexed (or the leading column of an index), or to a function of the
    values that returns the ``Q`` an index serves; shapes the model has no
    entry for are ignored. ``search_fields`` only switches the search box on:
    Django shows it only when the list is not empty.
    """

    exact_search: dict[str, Iterable[str | Callable[[list], Q]]] = {}

    def get_search_results(
        self, request, queryset: QuerySet, search_term: str
    ) -> tuple[QuerySet, bool]:
        terms = search_term.split()[:MAX_TERMS]
        if not terms:
            return queryset, False
        match = Q()
        for term in terms:
            for shape, values in term_values(term).items():
                for column in self.exact_search.get(shape, ()):
                    if callable(column):
                        match |= column(values)
                    else:
                        match |= Q(**{f"{column}__in": values})
        if not match:
            return queryset.none(), False
        return queryset.filter(match), False  # no join: never a duplicate
