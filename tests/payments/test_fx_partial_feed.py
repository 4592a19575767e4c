"""D14: a feed that answers without some of the 28 currencies.

The European Central Bank's reference rates (a default feed) have no AED,
ARS, CLP, COP or PEN. A feed that answers is the source of what it gives; a
currency it lacks is asked of the next feed, as if it had failed for it
(D14: a second feed as fallback), so a partial feed first in
``JOPAY_FX_FEEDS`` does not leave those currencies to go stale.
"""

from __future__ import annotations

from decimal import Decimal

from payments.models import FxRate
from payments.money import SUPPORTED_CURRENCIES
from payments.services.refresh import fx_refresh

from .test_fx_feeds import feeds, global_rate  # noqa: F401 (fixture)

NOT_AT_THE_ECB = ("AED", "ARS", "CLP", "COP", "PEN")


def test_currencies_a_feed_lacks_are_taken_from_the_next_one(db, feeds, settings):  # noqa: F811
    server, ecb, usd = feeds
    settings.JOPAY_FX_FEEDS = [ecb, usd]

    result = fx_refresh()

    assert result.ok
    assert server.hits == {"/ecb.xml": 1, "/usd.json": 1}
    # Every currency the ECB gives comes from the ECB, first in the list …
    assert global_rate("EUR").rate == Decimal("0.868583340571527838")
    assert global_rate("EUR").source == "ecb:127.0.0.1"
    # … and only the ones it lacks from the next feed.
    for code in NOT_AT_THE_ECB:
        assert global_rate(code).source == "json:127.0.0.1", code
    assert global_rate("ARS").rate == Decimal("1419.25")
    assert set(FxRate.objects.values_list("currency", flat=True)) == set(
        SUPPORTED_CURRENCIES
    )
    assert set(NOT_AT_THE_ECB) <= set(result.changed)


def test_a_complete_first_feed_is_the_only_one_asked(db, feeds, settings):  # noqa: F811
    server, ecb, usd = feeds
    settings.JOPAY_FX_FEEDS = [usd, ecb]

    fx_refresh()

    assert server.hits == {"/usd.json": 1}
    assert set(FxRate.objects.values_list("source", flat=True)) == {"json:127.0.0.1"}


def test_a_failing_fallback_keeps_what_the_partial_feed_gave(db, feeds, settings):  # noqa: F811
    server, ecb, _ = feeds
    settings.JOPAY_FX_FEEDS = [ecb, server.serve("/down", status=503)]

    result = fx_refresh()

    assert result.ok
    assert result.source == "ecb:127.0.0.1"
    assert "HTTP 503" in result.errors[0]
    assert global_rate("EUR").source == "ecb:127.0.0.1"
    assert not FxRate.objects.filter(currency__in=NOT_AT_THE_ECB).exists()
