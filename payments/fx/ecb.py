"""The ECB euro foreign exchange reference rates (``eurofxref-daily.xml``).

EUR-based: each ``<Cube currency="USD" rate="1.0856"/>`` is units per 1 EUR.
Per USD that is ``rate(c) / rate(USD)``, and EUR itself is ``1 / rate(USD)``,
computed with ``Decimal`` and quantised to 18 places. Parsed with defusedxml.
"""

from __future__ import annotations

from decimal import Decimal
from xml.etree.ElementTree import ParseError

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from .base import FeedError, normalise_rate, per_usd, supported_entry

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
    except (ParseError, DefusedXmlException) as exc:
        raise FeedError(f"not usable XML: {exc}") from None
    table: dict[str, Decimal] = {}
    # Namespace-agnostic: match any element named Cube that carries currency/rate.
    for element in root.iter():
        if element.tag.rsplit("}", 1)[-1] != "Cube":
            continue
        code, rate = element.get("currency"), element.get("rate")
        if supported_entry(code) and rate:
            table[code.upper()] = normalise_rate(rate)
    if not table:
        raise FeedError("the XML feed holds no <Cube currency= rate=> entries")
    return per_usd(table, "EUR")
