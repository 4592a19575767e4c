"""FX feed adapters (D14, D31, D36): fetch a rate table, return fiat units per 1 USD.

One USDC is treated as one USD, so a table of "currency units per USD" is a
table of "fiat units per USDC". Each adapter parses one feed format into
``Decimal`` rates with at most 18 places; floats never appear (JSON numbers are
parsed with ``parse_float=Decimal``). ``fetch_feed`` does the HTTP part (timeout,
two tries) and picks the adapter from the URL and the answer's content.
"""

from __future__ import annotations

from .base import FeedError, FeedRates
from .fetch import fetch_feed, parse_feed

__all__ = ["FeedError", "FeedRates", "fetch_feed", "parse_feed"]
