"""Feed parsing over generated rate tables (D14): whatever a feed sends, the
answer is a ``FeedError`` or rates every conversion can use exactly.

A feed is remote input. Numbers of any size and exponent, non-numbers,
NaN and infinities, unsupported and lower-case codes, a base without a USD
entry: none may raise anything else, nor store a rate outside
``money.RATE_MIN`` … ``RATE_MAX`` or finer than 18 places.
"""

from __future__ import annotations

import json
from xml.sax.saxutils import quoteattr

from hypothesis import given, settings
from hypothesis import strategies as st

from payments.fx import ecb, json_table
from payments.fx.base import FeedError
from payments.money import SUPPORTED_CURRENCIES, rate_in_range, rate_to_scaled_int

FEED = settings(max_examples=300, derandomize=True, database=None, deadline=None)

# The 28 codes plus what a feed must skip: lower case, a crypto ticker, ISO
# 4217's "no currency" code XXX and an empty one.
codes = st.sampled_from([*SUPPORTED_CURRENCIES, "usd", "eur", "BTC", "XXX", ""])
json_values = st.one_of(
    st.decimals(allow_nan=False, allow_infinity=False).map(str),
    st.integers().map(str),
    st.floats().map(json.dumps),  # NaN, Infinity, -Infinity are what json writes
    st.sampled_from(
        [
            "1e400",
            "1e-400",
            "0",
            "-0",
            "null",
            "true",
            '"0.92"',
            '" 0.92 "',
            '"1e5"',
            "[1]",
            "{}",
            '"abc"',
            "1" + "0" * 5000,
        ]
    ),
)
xml_values = st.one_of(
    st.decimals().map(str),
    st.text(max_size=12),
    st.sampled_from(["1e400", "1e-400", "0", "-1", "1.0856"]),
)


def assert_usable(rates: dict) -> None:
    assert rates["USD"] == 1
    for code, rate in rates.items():
        assert code in SUPPORTED_CURRENCIES
        assert rate_in_range(rate), (code, rate)
        rate_to_scaled_int(rate)  # at most 18 places, else ValueError


@FEED
@given(base=codes, table=st.dictionaries(codes, json_values, max_size=8))
def test_a_json_table_parses_to_usable_rates_or_a_feed_error(base, table):
    entries = ", ".join(f'"{code}": {value}' for code, value in table.items())
    body = f'{{"base": "{base}", "rates": {{{entries}}}}}'.encode()
    try:
        rates = json_table.parse(body)
    except FeedError:
        return
    assert_usable(rates)


@FEED
@given(table=st.dictionaries(codes, xml_values, max_size=8))
def test_an_ecb_file_parses_to_usable_rates_or_a_feed_error(table):
    cubes = "".join(
        f"<Cube currency={quoteattr(code)} rate={quoteattr(value)}/>"
        for code, value in table.items()
    )
    body = (
        '<Envelope xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">'
        f'<Cube><Cube time="2026-01-02">{cubes}</Cube></Cube></Envelope>'
    ).encode()
    try:
        rates = ecb.parse(body)
    except FeedError:
        return
    assert_usable(rates)
