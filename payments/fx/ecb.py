"""The ECB euro foreign exchange reference rates (``eurofxref-daily.xml``).

EUR-based: each ``<Cube currency="USD" rate="1.0856"/>`` is units per 1 EUR.
Per USD that is ``rate(c) / rate(USD)``, and EUR itself is ``1 / rate(USD)``,
computed with ``Decimal`` and quantised to 18 places. Parsed with defusedxml.
A multi-day file (``eurofxref-hist-90d.xml``) gives its newest day's rates.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from xml.etree.ElementTree import Element, ParseError

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from .base import FeedError, per_usd, supported_entry, table_put

NAME = "ecb"


def looks_like(url: str, content_type: str, body: bytes) -> bool:
    return (
        "xml" in content_type
        or url.lower().endswith(".xml")
        or body.lstrip()[:1] == b"<"
    )


def parse(body: bytes) -> dict[str, Decimal]:
    try:
        root = ElementTree.fromstring(body)
    except (ParseError, DefusedXmlException, ValueError, LookupError) as exc:
        # D14: expat raises ValueError for a declared multi-byte encoding
        # (Shift_JIS, UTF-32) and LookupError for an unknown one: a bad feed
        # like any other, so the fallback feed is asked, never a crash.
        raise FeedError(f"not usable XML: {exc}") from None
    table: dict[str, Decimal] = {}
    for element in (e for day in _newest_day(root) for e in day.iter()):
        if not _is_cube(element):
            continue
        code = element.get("currency")
        if supported_entry(code):
            # No rate, or an empty one, is malformed like any other bad rate.
            table_put(table, code, element.get("rate"))
    if not table:
        raise FeedError("the XML feed holds no <Cube currency= rate=> entries")
    return per_usd(table, "EUR")


def _is_cube(element: Element) -> bool:
    # Namespace-agnostic: any element named Cube.
    return element.tag.rsplit("}", 1)[-1] == "Cube"


def _newest_day(root: Element) -> list[Element]:
    """The ``<Cube time="YYYY-MM-DD">`` of the newest day, else ``[root]``.

    D14: a multi-day file (``eurofxref-hist-90d.xml``, newest day first) holds
    one Cube per day; reading every day let the older ones overwrite the
    newest rates. Only the newest day counts, whatever order the file is in.
    A file without dated Cubes is read whole, as before. Should the newest
    date appear on several Cubes, all of them are read (a rate they disagree
    on is a ``FeedError``): the first one alone hid the others.
    """
    days: list[tuple[date, Element]] = []
    for element in root.iter():
        stamp = element.get("time") if _is_cube(element) else None
        if stamp is None:
            continue
        try:
            days.append((date.fromisoformat(stamp), element))
        except ValueError:
            raise FeedError(f"the XML feed has a bad day {stamp!r}") from None
    if not days:
        return [root]
    newest = max(day for day, _ in days)
    return [element for day, element in days if day == newest]
