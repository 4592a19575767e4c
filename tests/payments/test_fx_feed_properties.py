"""Feed parsing over generated rate tables (D14): whatever a feed sends, the
answer is a ``FeedError`` or rates every conversion can use exactly.

A feed is remote input. Numbers of any size and exponent, non-numbers,
NaN and infinities, unsupported and lower-case codes, a base without a USD
entry: none may raise anything else, nor store a rate outside
``money.RATE_MIN`` … ``RATE_MAX`` or finer than 18 places.

Each table is a well-formed one with hostile entries mixed in, and each test
checks that both answers really occur: tables of random entries alone were
refused 298 times in 300, so ``assert_usable`` hardly ever ran and a parser
refusing every feed passed.
"""

from __future__ import annotations

import json
from collections import Counter
from decimal import Decimal
from xml.sax.saxutils import quoteattr

from hypothesis import given, settings
from hypothesis import strategies as st

from payments.fx import ecb, json_table
from payments.fx.base import FeedError
from payments.money import SUPPORTED_CURRENCIES, rate_in_range, rate_to_scaled_int

FEED = settings(max_examples=300, derandomize=True, database=None, deadline=None)
# Of the 300 tables, at least this many must be parsed and as many refused.
EACH_ANSWER_AT_LEAST = 30

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
# What a working feed sends: plausible rates of supported currencies, with
# the entry a re-based table needs (USD) always there.
plausible = st.decimals(min_value=Decimal("0.01"), max_value=Decimal(10**5), places=8)
good_tables = st.fixed_dictionaries(
    {"USD": plausible},
    optional={code: plausible for code in SUPPORTED_CURRENCIES if code != "USD"},
)
hostile_entries = st.dictionaries(codes, json_values, max_size=3)


def assert_usable(rates: dict) -> None:
    assert rates["USD"] == 1
    for code, rate in rates.items():
        assert code in SUPPORTED_CURRENCIES
        assert rate_in_range(rate), (code, rate)
        rate_to_scaled_int(rate)  # at most 18 places, else ValueError


def assert_usable_or_refused(parse, body: bytes, answers: Counter) -> None:
    try:
        rates = parse(body)
    except FeedError:
        answers["refused"] += 1
        return
    answers["parsed"] += 1
    assert_usable(rates)


def assert_both_answers_occurred(answers: Counter) -> None:
    assert answers["parsed"] >= EACH_ANSWER_AT_LEAST, answers
    assert answers["refused"] >= EACH_ANSWER_AT_LEAST, answers


def test_a_json_table_parses_to_usable_rates_or_a_feed_error():
    answers: Counter = Counter()

    @FEED
    @given(
        base=st.one_of(st.just("USD"), codes),
        good=good_tables,
        hostile=st.one_of(st.just({}), hostile_entries),
    )
    def check(base, good, hostile):
        if base == "USD":
            good = {**good, "USD": 1}  # a table prices its own base at 1
        table = {code: str(rate) for code, rate in good.items()} | hostile
        entries = ", ".join(f'"{code}": {value}' for code, value in table.items())
        body = f'{{"base": "{base}", "rates": {{{entries}}}}}'.encode()
        assert_usable_or_refused(json_table.parse, body, answers)

    check()
    assert_both_answers_occurred(answers)


def test_an_ecb_file_parses_to_usable_rates_or_a_feed_error():
    answers: Counter = Counter()

    @FEED
    @given(
        good=good_tables,
        hostile=st.one_of(st.just({}), st.dictionaries(codes, xml_values, max_size=3)),
    )
    def check(good, hostile):
        # EUR is the base of an ECB file: never listed, always 1.
        table = {code: str(rate) for code, rate in good.items() if code != "EUR"}
        cubes = "".join(
            f"<Cube currency={quoteattr(code)} rate={quoteattr(value)}/>"
            for code, value in (table | hostile).items()
        )
        body = (
            '<Envelope xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">'
            f'<Cube><Cube time="2026-01-02">{cubes}</Cube></Cube></Envelope>'
        ).encode()
        assert_usable_or_refused(ecb.parse, body, answers)

    check()
    assert_both_answers_occurred(answers)
