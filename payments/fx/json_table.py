"""The common JSON rate table: ``{"base": "USD", "rates": {"EUR": 0.92, ...}}``.

Covers the "open exchange rates" / "exchangerate-api" / "open.er-api" family:
the base is ``base`` or ``base_code``, the table ``rates`` or
``conversion_rates``. A non-USD base is re-based through its USD entry.
"""

from __future__ import annotations

import json
from decimal import Decimal

from jopay_project.parsers import check_json_depth

from .base import FeedError, per_usd, supported_entry, table_put

NAME = "json"


def looks_like(url: str, content_type: str, body: bytes) -> bool:
    return "json" in content_type or body.lstrip()[:1] == b"{"


def _unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """An object, refusing a repeated key: ``json`` keeps the last silently,
    so ``{"EUR": 0.92, "EUR": 5}`` read as 5 and a second ``base`` re-based
    the whole table."""
    result = dict(pairs)
    if len(result) != len(pairs):
        raise ValueError("an object repeats a key")
    return result


def parse(body: bytes) -> dict[str, Decimal]:
    try:
        # A feed is remote input: a deeply nested answer must not crash the
        # worker's C stack (see jopay_project.parsers).
        check_json_depth(body)
        # parse_float=Decimal: "0.9234" stays exactly 0.9234, never a binary float.
        data = json.loads(body, parse_float=Decimal, object_pairs_hook=_unique_keys)
    except (ValueError, UnicodeDecodeError, ArithmeticError) as exc:
        # ArithmeticError: parse_float=Decimal meets a number whose exponent
        # is past Decimal's limits (decimal.InvalidOperation, D14).
        raise FeedError(f"not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise FeedError("the JSON feed is not an object")
    if data.get("result") not in (None, "success") or data.get("success") is False:
        raise FeedError(
            f"the feed reported failure: {data.get('error') or data.get('result')}"
        )
    base = data.get("base", data.get("base_code"))
    rates = data.get("rates", data.get("conversion_rates"))
    if not isinstance(base, str) or not isinstance(rates, dict) or not rates:
        raise FeedError("the JSON feed has no base currency or no rates table")
    table: dict[str, Decimal] = {}
    for code, value in rates.items():
        if supported_entry(code):
            table_put(table, code, value)
    return per_usd(table, base.upper())
