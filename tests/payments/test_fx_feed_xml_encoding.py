"""D14: an XML feed declaring an encoding expat cannot read is a bad feed, not a crash.

expat (under defusedxml) raises ``ValueError`` ("multi-byte encodings are not
supported") for a declared multi-byte encoding such as Shift_JIS, and
``LookupError`` for an unknown one. Neither is a ``ParseError``, so it left
``ecb.parse`` as itself: the refresh raised, the fallback feed was never asked
and the scheduled task failed (D14: a second feed as fallback; on failure the
last good rate stays).
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from payments.fx import FeedError, parse_feed
from payments.models import FxRate
from payments.services.refresh import fx_refresh


def declared(encoding: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="{encoding}"?>'
        '<Cube><Cube time="2026-04-17"><Cube currency="USD" rate="1.08"/>'
        "</Cube></Cube>"
    ).encode()


@pytest.mark.parametrize("encoding", ["Shift_JIS", "EUC-JP", "UTF-32", "bogus-8"])
def test_an_xml_feed_in_an_unreadable_encoding_is_a_feed_error(encoding):
    with pytest.raises(FeedError):
        parse_feed("https://feed.example/daily.xml", "text/xml", declared(encoding))


def test_a_refresh_falls_back_from_an_xml_feed_in_an_unreadable_encoding(
    db, feed_server, settings
):
    settings.JOPAY_FX_TIMEOUT_SECONDS = 1
    bad = feed_server.serve(
        "/daily.xml", content_type="text/xml", body=declared("Shift_JIS")
    )
    good = feed_server.serve(
        "/good.json", body=b'{"base":"USD","rates":{"USD":1,"EUR":0.93}}'
    )

    result = fx_refresh(feed_urls=[bad, good])

    assert result.ok
    assert result.errors
    eur = FxRate.objects.get(currency="EUR", partner__isnull=True)
    assert eur.rate == Decimal("0.93")
