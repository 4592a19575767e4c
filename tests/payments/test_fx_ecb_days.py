"""D14: an ECB file holding several days (``eurofxref-hist-90d.xml``) gives the
newest day's rates. Every day was read in turn, so the oldest one in the file
overwrote the newest."""

from __future__ import annotations

from decimal import Decimal, localcontext

import pytest

from payments.fx import FeedError, parse_feed

URL = "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-hist-90d.xml"
NEWEST = '<Cube time="2024-05-02"><Cube currency="USD" rate="1.0700"/><Cube currency="JPY" rate="165.00"/></Cube>'  # noqa: E501
OLDER = '<Cube time="2024-02-01"><Cube currency="USD" rate="1.0800"/><Cube currency="JPY" rate="160.00"/></Cube>'  # noqa: E501


def envelope(*days: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<gesmes:Envelope xmlns:gesmes="http://www.gesmes.org/xml/2002-08-01" '
        'xmlns="http://www.ecb.int/vocabulary/2002-08-01/eurofxref">'
        f"<Cube>{''.join(days)}</Cube></gesmes:Envelope>"
    ).encode()


def per_usd(value: str, usd: str) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 60
        return (Decimal(value) / Decimal(usd)).quantize(Decimal("1e-18"))


@pytest.mark.parametrize(
    "days", [(NEWEST, OLDER), (OLDER, NEWEST)], ids=["newest-first", "oldest-first"]
)
def test_the_newest_day_wins_in_any_order(days):
    rates = parse_feed(URL, "text/xml", envelope(*days)).rates
    assert rates["JPY"] == per_usd("165", "1.07")
    assert rates["EUR"] == per_usd("1", "1.07")


def test_only_the_newest_days_currencies_are_taken():
    # A currency quoted on an older day only is not carried over as current.
    older = OLDER.replace("</Cube>", '<Cube currency="GBP" rate="0.85"/></Cube>', 1)
    rates = parse_feed(URL, "text/xml", envelope(NEWEST, older)).rates
    assert "GBP" not in rates


def test_a_day_that_is_not_a_date_is_a_feed_error():
    with pytest.raises(FeedError):
        parse_feed(URL, "text/xml", envelope(NEWEST.replace("2024-05-02", "soon")))
