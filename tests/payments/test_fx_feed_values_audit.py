"""D14: a feed's rate table is read literally or refused, never reinterpreted.

A feed is remote input. Python's ``Decimal`` reads more than decimal numbers:
digit-group underscores (``"0_92"`` is 92) and any Unicode digit
(``"٠.٩٢"`` is 0.92), so a malformed rate string became another, plausible,
rate and priced every request in that currency. And a table naming one
currency twice (``"EUR"`` and ``"eur"``, two ECB cubes, a repeated JSON key)
kept whichever entry came last. Such an answer is a ``FeedError``: the next
feed is asked and nothing of it is stored (the fallback rule of D14).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from payments.fx import FeedError, parse_feed
from payments.models import FxRate
from payments.services.refresh import fx_refresh

JSON = "application/json"
XML = "text/xml"


def json_body(eur: str) -> bytes:
    return b'{"base":"USD","rates":{"USD":1,"EUR":' + eur.encode() + b"}}"


def ecb_body(cubes: str) -> bytes:
    return f'<Cube><Cube time="2026-04-17">{cubes}</Cube></Cube>'.encode()


@pytest.mark.parametrize(
    "text",
    [
        "0_92",  # Decimal: 92
        "1_000",  # Decimal: 1000
        "\u0660.\u0669\u0662",  # Arabic-Indic digits: Decimal reads 0.92
        "\uff10.\uff19\uff12",  # full-width digits
        "0.92\u00a0",  # a no-break space, stripped by Decimal
        "+0.92",
        "0x10",
        "",
    ],
)
def test_a_rate_string_that_is_not_a_plain_decimal_is_refused(text):
    with pytest.raises(FeedError):
        parse_feed("https://feed.example/latest", JSON, json_body(f'"{text}"'))
    with pytest.raises(FeedError):
        parse_feed(
            "https://feed.example/daily.xml",
            XML,
            ecb_body(
                '<Cube currency="USD" rate="1.08"/>'
                + f'<Cube currency="JPY" rate="{text}"/>'
            ),
        )


@pytest.mark.parametrize("text", ["0.92", " 0.92 ", "92E-2", ".92", "0.920000"])
def test_plain_decimal_strings_still_parse(text):
    feed = parse_feed("https://feed.example/latest", JSON, json_body(f'"{text}"'))
    assert feed.rates["EUR"] == Decimal("0.92")


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        (JSON, b'{"base":"USD","rates":{"EUR":0.92,"eur":5}}'),
        (JSON, b'{"base":"USD","rates":{"EUR":0.92,"EUR":5}}'),
        (JSON, b'{"base":"USD","base":"EUR","rates":{"USD":1.08,"EUR":0.92}}'),
        # The base's own entry must be 1: a table that says otherwise is wrong.
        (JSON, b'{"base":"USD","rates":{"USD":3,"EUR":0.92}}'),
        (
            XML,
            ecb_body(
                '<Cube currency="USD" rate="1.08"/><Cube currency="EUR" rate="5"/>'
            ),
        ),
        # Two tables for the newest day: which one is the day's?
        (
            XML,
            b'<Cube><Cube time="2026-04-17"><Cube currency="USD" rate="1.08"/></Cube>'
            b'<Cube time="2026-04-17"><Cube currency="USD" rate="2"/></Cube></Cube>',
        ),
        (
            XML,
            ecb_body(
                '<Cube currency="USD" rate="1.08"/><Cube currency="JPY" rate="160"/>'
                '<Cube currency="jpy" rate="16"/>'
            ),
        ),
    ],
    ids=[
        "json-case",
        "json-repeated-key",
        "json-repeated-base",
        "json-base-not-1",
        "ecb-base-not-1",
        "ecb-newest-day-twice",
        "ecb-case",
    ],
)
def test_a_currency_listed_twice_is_a_feed_error(content_type, body):
    with pytest.raises(FeedError):
        parse_feed("https://feed.example/latest", content_type, body)


def test_the_same_rate_listed_twice_is_harmless():
    body = b'{"base":"USD","rates":{"USD":1,"EUR":0.92,"eur":"0.920"}}'
    assert parse_feed("https://x.example/", JSON, body).rates["EUR"] == Decimal("0.92")
    same_day = (
        b'<Cube><Cube time="2026-04-17"><Cube currency="USD" rate="1.08"/></Cube>'
        b'<Cube time="2026-04-16"><Cube currency="USD" rate="2"/></Cube>'
        b'<Cube time="2026-04-17"><Cube currency="USD" rate="1.080"/></Cube></Cube>'
    )
    rates = parse_feed("https://x.example/d.xml", XML, same_day).rates
    assert rates["EUR"] == Decimal("0.925925925925925926")


def test_a_refresh_falls_back_from_a_misread_feed_and_stores_none_of_it(
    db, feed_server, settings
):
    settings.JOPAY_FX_TIMEOUT_SECONDS = 1
    bad = feed_server.serve("/bad.json", body=json_body('"0_92"'))
    good = feed_server.serve("/good.json", body=json_body("0.93"))

    result = fx_refresh(feed_urls=[bad, good])

    assert result.ok
    assert feed_server.hits["/bad.json"] == 1  # a bad body is not retried
    eur = FxRate.objects.get(currency="EUR", partner__isnull=True)
    assert eur.rate == Decimal("0.93")
