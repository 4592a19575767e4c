"""FX feeds (D14, D36): adapters parse recorded feed files exactly (Decimal, never
float); refresh falls back across feeds served by a real local HTTP server, keeps the
last good rates on total failure and never overwrites pinned rates."""

from __future__ import annotations

import json
import socket
import time
from datetime import timedelta
from decimal import Decimal, localcontext

import pytest
from django.utils import timezone

from payments.fx import FeedError, parse_feed
from payments.models import FxRate
from payments.services.refresh import fx_refresh
from payments.tasks import refresh_fx_rates_task

from .conftest import FIXTURES

Q18 = Decimal("1e-18")


def per_usd(value: str, usd: str) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 60
        return (Decimal(value) / Decimal(usd)).quantize(Q18)


# --- adapters ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("index", "content_type", "fixture", "source"),
    [
        (0, "application/json", "open-er-api-latest-usd.json", "json:open.er-api.com"),
        (1, "text/xml", "eurofxref-daily.xml", "ecb:www.ecb.europa.eu"),
    ],
)
def test_the_default_feeds_parse_their_recorded_answers(
    index, content_type, fixture, source
):
    # D14: out of the box a public feed and a second one as fallback.
    from jopay_project.settings import DEFAULT_FX_FEEDS

    assert len(DEFAULT_FX_FEEDS) == 2
    url = DEFAULT_FX_FEEDS[index]
    parsed = parse_feed(url, content_type, (FIXTURES / fixture).read_bytes())
    assert parsed.source == source
    assert parsed.rates["EUR"] > 0


def test_ecb_xml_is_rebased_from_eur_to_usd():
    body = (FIXTURES / "eurofxref-daily.xml").read_bytes()
    feed = parse_feed(
        "https://www.ecb.europa.eu/stats/eurofxref/eurofxref-daily.xml",
        "text/xml",
        body,
    )
    assert feed.source == "ecb:www.ecb.europa.eu"
    assert feed.rates["USD"] == Decimal(1)
    assert feed.rates["EUR"] == per_usd("1", "1.1513")
    assert feed.rates["EUR"] == Decimal("0.868583340571527838")
    assert feed.rates["JPY"] == per_usd("181.39", "1.1513")
    assert feed.rates["KRW"] == per_usd("1695.81", "1.1513")
    assert all(isinstance(r, Decimal) for r in feed.rates.values())
    assert all(r == r.quantize(Q18) for r in feed.rates.values())
    # Only the 28 supported codes; the ECB has no AED/ARS/CLP/COP/PEN.
    assert "ISK" not in feed.rates
    assert "TRY" not in feed.rates
    assert "AED" not in feed.rates
    assert len(feed.rates) == 23


def test_usd_json_feed_is_parsed_exactly():
    body = (FIXTURES / "open-er-api-latest-usd.json").read_bytes()
    feed = parse_feed("https://open.er-api.com/v6/latest/USD", "application/json", body)
    assert feed.source == "json:open.er-api.com"
    assert feed.rates["EUR"] == Decimal("0.868583")  # not 0.86858299999…
    assert feed.rates["COP"] == Decimal("3799.428571")
    assert feed.rates["USD"] == Decimal(1)
    assert "XDR" not in feed.rates
    assert len(feed.rates) == 28


def test_openexchangerates_style_feed():
    body = (FIXTURES / "openexchangerates-latest.json").read_bytes()
    feed = parse_feed("https://openexchangerates.org/api/latest.json", "", body)
    assert feed.rates["JPY"] == Decimal("157.56")
    assert len(feed.rates) == 28


def test_json_feed_with_another_base_is_rebased():
    body = json.dumps({"base": "EUR", "rates": {"USD": 1.1513, "JPY": 181.39}}).encode()
    feed = parse_feed("https://api.frankfurter.app/latest", "application/json", body)
    assert feed.rates["EUR"] == per_usd("1", "1.1513")
    assert feed.rates["JPY"] == per_usd("181.39", "1.1513")


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("text/html", b"<html><body>maintenance</body></html>"),
        ("application/json", b'{"result":"error","error-type":"quota-reached"}'),
        ("application/json", b'{"base":"USD"}'),
        ("application/json", b'{"base":"USD","rates":{"EUR":-0.9}}'),
        ("application/json", b'{"base":"USD","rates":{"EUR":"abc"}}'),
        ("application/json", b'{"base":"USD","rates":{"EUR":true}}'),
        ("application/json", b'{"base":"EUR","rates":{"JPY":160}}'),  # no USD leg
        # Out of any plausible range: a fault, not a rate (money.RATE_MIN/MAX).
        ("application/json", b'{"base":"USD","rates":{"EUR":1e45}}'),
        ("application/json", b'{"base":"USD","rates":{"EUR":1e25}}'),
        ("application/json", b'{"base":"USD","rates":{"EUR":0.0000001}}'),
        ("application/json", b"[1,2]"),
        ("application/json", b"{nope"),
        ("text/xml", b"<Envelope><Cube/></Envelope>"),
        ("text/plain", b"EUR 0.92"),
        # Deep enough to overflow the C stack under py_ecc's recursion limit.
        ("application/json", b'{"rates":' + b"[" * 300_000 + b"]" * 300_000 + b"}"),
    ],
)
def test_unusable_answers_are_feed_errors(content_type, body):
    with pytest.raises(FeedError):
        parse_feed("https://feed.example/latest", content_type, body)


def test_junk_for_a_currency_jopay_does_not_use_is_ignored():
    body = b'{"base":"USD","rates":{"EUR":0.92,"XAU":1e45,"BTC":-1,"VES":"n/a"}}'
    rates = parse_feed("https://feed.example/latest", "application/json", body).rates
    assert rates["EUR"] == Decimal("0.92")
    assert "XAU" not in rates


def test_xml_entity_expansion_is_refused():
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        b'<Cube><Cube currency="USD" rate="&b;"/></Cube>'
    )
    with pytest.raises(FeedError):
        parse_feed("https://feed.example/x.xml", "text/xml", bomb)


# --- refresh over HTTP ----------------------------------------------------------------


@pytest.fixture
def feeds(feed_server, settings):
    settings.JOPAY_FX_TIMEOUT_SECONDS = 1
    ecb = feed_server.serve_file("/ecb.xml", "eurofxref-daily.xml", "text/xml")
    usd = feed_server.serve_file(
        "/usd.json", "open-er-api-latest-usd.json", "application/json"
    )
    return feed_server, ecb, usd


def global_rate(code: str) -> FxRate:
    return FxRate.objects.get(currency=code, partner__isnull=True)


def test_refresh_stores_the_primary_feed_with_source_and_time(db, feeds, settings):
    server, ecb, usd = feeds
    settings.JOPAY_FX_FEEDS = [usd, ecb]
    before = timezone.now()

    result = fx_refresh()

    assert result.ok
    assert result.source == "json:127.0.0.1"
    assert server.hits == {"/usd.json": 1}
    eur = global_rate("EUR")
    assert eur.rate == Decimal("0.868583")
    assert eur.source == "json:127.0.0.1"
    assert eur.pinned is False
    assert eur.fetched_at >= before
    assert FxRate.objects.count() == 28


def test_failing_primary_falls_back_after_two_tries(db, feeds, settings):
    server, ecb, _ = feeds
    broken = server.serve("/broken", status=500, body=b"oops")
    settings.JOPAY_FX_FEEDS = [broken, ecb]

    result = fx_refresh()

    assert server.hits == {"/broken": 2, "/ecb.xml": 1}  # D14: two tries, then next
    assert result.source == "ecb:127.0.0.1"
    assert "HTTP 500" in result.errors[0]
    assert global_rate("EUR").rate == Decimal("0.868583340571527838")
    assert global_rate("EUR").source == "ecb:127.0.0.1"


def test_timing_out_primary_falls_back(db, feeds, settings):
    server, ecb, _ = feeds
    slow = server.serve("/slow", body=b'{"base":"USD","rates":{"EUR":0.5}}', delay=1.6)
    settings.JOPAY_FX_FEEDS = [slow, ecb]

    result = fx_refresh()

    assert server.hits["/slow"] == 2
    assert result.source == "ecb:127.0.0.1"
    assert global_rate("EUR").rate != Decimal("0.5")


def test_an_implausible_primary_falls_back_and_stores_nothing_of_it(
    db, feeds, settings
):
    """A rate the rate column cannot even hold (it raised DataError, so the
    refresh failed and the fallback was never asked)."""
    server, ecb, _ = feeds
    wild = server.serve("/wild", body=b'{"base":"USD","rates":{"EUR":1e25}}')
    settings.JOPAY_FX_FEEDS = [wild, ecb]

    result = fx_refresh()

    assert result.source == "ecb:127.0.0.1"
    assert "outside" in result.errors[0]
    assert global_rate("EUR").rate == Decimal("0.868583340571527838")


def test_a_trickling_primary_is_cut_at_its_deadline_and_falls_back(db, feeds, settings):
    """D14's 10 s bounds the whole call: a server sending a byte at a time
    kept each socket read under the timeout and held the refresh for ever."""
    server, ecb, _ = feeds
    body = b'{"base":"USD","rates":{"EUR":0.5}}'
    trickle = server.serve("/trickle", body=body, drip=0.2)  # ~7 s in all
    settings.JOPAY_FX_FEEDS = [trickle, ecb]
    started = time.monotonic()

    result = fx_refresh()

    assert time.monotonic() - started < 5  # two tries of ~1 s each, then ECB
    assert server.hits["/trickle"] == 2
    assert "no whole answer within 1 s" in result.errors[0]
    assert result.source == "ecb:127.0.0.1"


def test_unparseable_primary_falls_back_without_a_pointless_retry(db, feeds, settings):
    server, ecb, _ = feeds
    junk = server.serve("/junk", content_type="text/html", body=b"<html>down</html>")
    settings.JOPAY_FX_FEEDS = [junk, ecb]
    assert fx_refresh().source == "ecb:127.0.0.1"
    assert server.hits["/junk"] == 1


def test_total_failure_keeps_the_last_good_rate(db, feeds, settings):
    server, _, _ = feeds
    fetched = timezone.now() - timedelta(hours=3)
    FxRate.objects.create(
        currency="EUR", rate=Decimal("0.91"), source="json:old", fetched_at=fetched
    )
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}/x"
    settings.JOPAY_FX_FEEDS = [server.serve("/down", status=503), closed]

    result = fx_refresh()

    assert not result.ok
    assert len(result.errors) == 2
    eur = global_rate("EUR")
    assert (eur.rate, eur.source, eur.fetched_at) == (
        Decimal("0.91"),
        "json:old",
        fetched,
    )
    assert FxRate.objects.count() == 1


def test_no_feeds_configured_is_reported_but_not_alerted_on(db, settings, caplog):
    """README: an empty JOPAY_FX_FEEDS means pinned rates only. The refresh
    logged OPERATIONS.md's alert line ("every feed failed", ERROR) every 30
    minutes for that chosen set-up."""
    settings.JOPAY_FX_FEEDS = []
    result = fx_refresh()
    assert not result.ok
    assert result.errors == ["JOPAY_FX_FEEDS is empty"]
    assert "every feed failed" not in caplog.text
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


def test_pinned_rates_are_never_overwritten(db, feeds, settings, partner):
    _, ecb, _ = feeds
    settings.JOPAY_FX_FEEDS = [ecb]
    old = timezone.now() - timedelta(days=3)
    FxRate.objects.create(
        currency="EUR",
        rate=Decimal("0.95"),
        source="manual",
        pinned=True,
        fetched_at=old,
    )

    result = fx_refresh()

    assert "EUR" in result.skipped_pinned
    eur = global_rate("EUR")
    assert (eur.rate, eur.source, eur.fetched_at) == (Decimal("0.95"), "manual", old)
    assert global_rate("JPY").source == "ecb:127.0.0.1"


def test_refresh_confirms_unchanged_rates_by_moving_fetched_at(db, feeds, settings):
    _, _, usd = feeds
    settings.JOPAY_FX_FEEDS = [usd]
    fx_refresh()
    old = timezone.now() - timedelta(hours=23)
    FxRate.objects.update(fetched_at=old)
    result = fx_refresh()
    assert "EUR" in result.unchanged
    assert global_rate("EUR").fetched_at > old


def test_dry_run_reports_without_writing(db, feeds, settings):
    _, ecb, _ = feeds
    settings.JOPAY_FX_FEEDS = [ecb]
    FxRate.objects.create(currency="EUR", rate=Decimal("0.91"), source="json:old")

    result = fx_refresh(dry_run=True)

    assert result.changed["EUR"] == (Decimal("0.91"), Decimal("0.868583340571527838"))
    assert "JPY" in result.changed
    assert FxRate.objects.count() == 1
    assert global_rate("EUR").rate == Decimal("0.91")


def test_refresh_task_runs_the_refresh(db, feeds, settings):
    _, ecb, _ = feeds
    settings.JOPAY_FX_FEEDS = [ecb]
    summary = refresh_fx_rates_task()
    assert summary["source"] == "ecb:127.0.0.1"
    assert "EUR" in summary["changed"]
    assert summary["errors"] == []
