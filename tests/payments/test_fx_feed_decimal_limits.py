"""D14: a rate beyond what ``Decimal`` can hold is a bad feed, not a crash.

A number whose exponent is past the decimal module's limits
(``1e9999999999999999999``) raised ``decimal.InvalidOperation`` (an
``ArithmeticError``, not a ``FeedError``) from the JSON parser or the rate
reader: the refresh raised, the fallback feed was never asked.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from payments.fx import FeedError, parse_feed
from payments.models import FxRate
from payments.services.refresh import fx_refresh

HUGE_EXPONENTS = [
    (
        "application/json",
        b'{"base":"USD","rates":{"USD":1,"EUR":1e9999999999999999999}}',
    ),
    (
        "application/json",
        b'{"base":"USD","rates":{"USD":1,"EUR":"1e-9999999999999999999"}}',
    ),
    (
        "text/xml",
        b'<Cube><Cube currency="USD" rate="1"/>'
        b'<Cube currency="EUR" rate="1e9999999999999999999"/></Cube>',
    ),
]


@pytest.mark.parametrize(("content_type", "body"), HUGE_EXPONENTS)
def test_a_rate_with_an_exponent_beyond_decimal_is_a_feed_error(content_type, body):
    with pytest.raises(FeedError):
        parse_feed("https://feed.example/latest", content_type, body)


def test_a_refresh_falls_back_from_a_rate_beyond_decimal(db, feed_server, settings):
    settings.JOPAY_FX_TIMEOUT_SECONDS = 1
    content_type, body = HUGE_EXPONENTS[0]
    bad = feed_server.serve("/bad.json", content_type=content_type, body=body)
    good = feed_server.serve(
        "/good.json", body=b'{"base":"USD","rates":{"USD":1,"EUR":0.93}}'
    )

    result = fx_refresh(feed_urls=[bad, good])

    assert result.ok
    eur = FxRate.objects.get(currency="EUR", partner__isnull=True)
    assert eur.rate == Decimal("0.93")
