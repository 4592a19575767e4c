"""The dashboard figures (spec §12.5): integer sums, conversion, mode, chart."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
from django.utils import timezone

from merchants.portal.dashboard import CHART_DAYS, CHART_HEIGHT, dashboard_for
from tests.factories import MerchantFactory
from tests.portal.conftest import make_request, make_verified

pytestmark = pytest.mark.django_db


def test_verified_volume_7_and_30_days(partner, merchant):
    make_verified(merchant, fiat_int=1000, usdc_micro=1_087_000, days_ago=1)
    make_verified(merchant, fiat_int=2550, usdc_micro=2_771_000, days_ago=6)
    make_verified(merchant, fiat_int=10_000, usdc_micro=10_869_000, days_ago=20)
    make_verified(merchant, fiat_int=99_999, usdc_micro=108_694_000, days_ago=40)
    board = dashboard_for(partner_tenant(partner))
    assert (board.verified_7d.fiat_int, board.verified_7d.count) == (3550, 2)
    assert board.verified_7d.usdc_micro == 3_858_000
    assert (board.verified_30d.fiat_int, board.verified_30d.count) == (13_550, 3)
    assert board.verified_30d.fiat == "135.50"
    assert board.verified_30d.usdc == "14.727000"
    assert board.verified_30d.approximate is False


def test_cards_count_the_chart_window_of_utc_days(partner, merchant):
    """The 30-day card is the sum of the chart's bars: both start at a UTC
    midnight. A rolling ``now - 30 days`` card counted a payment of a day
    the chart does not show (11-07 below); the 7-day card likewise."""
    now = datetime(2026, 12, 7, 10, 0, tzinfo=UTC)
    make_verified(
        merchant,
        usdc_micro=1_000_000,
        verified_at=now.replace(day=7, month=11, hour=12),
    )
    make_verified(
        merchant,
        usdc_micro=2_000_000,
        verified_at=now.replace(day=8, month=11, hour=0, minute=30),
    )
    make_verified(
        merchant,
        usdc_micro=4_000_000,
        verified_at=now.replace(day=30, month=11, hour=12),
    )
    make_verified(
        merchant, usdc_micro=8_000_000, verified_at=now.replace(day=1, hour=0)
    )
    board = dashboard_for(partner_tenant(partner), now=now)
    assert board.chart.first_day == date(2026, 11, 8)
    assert (board.verified_30d.count, board.verified_30d.usdc_micro) == (3, 14_000_000)
    assert (board.verified_7d.count, board.verified_7d.usdc_micro) == (1, 8_000_000)
    assert sum(bar.usdc_micro for bar in board.chart.bars) == 14_000_000


def test_other_currencies_are_converted_through_usdc(partner, rates):
    """D35: another currency is compared through the current USDC rate."""
    yen_shop = MerchantFactory(partner=partner, display_currency="JPY")
    make_verified(yen_shop, fiat_int=1500, fiat_code="JPY", usdc_micro=10_000_000)
    board = dashboard_for(partner_tenant(partner))
    # 10 USDC at 0.92 EUR per USDC = 9.20 EUR.
    assert board.verified_7d.fiat_int == 920
    assert board.verified_7d.approximate is True


def test_without_a_rate_other_currencies_count_in_usdc_only(partner):
    yen_shop = MerchantFactory(partner=partner, display_currency="JPY")
    make_verified(yen_shop, fiat_int=1500, fiat_code="JPY", usdc_micro=10_000_000)
    board = dashboard_for(partner_tenant(partner))
    assert board.verified_7d.fiat_int == 0
    assert board.verified_7d.unconverted == 1
    assert board.verified_7d.usdc_micro == 10_000_000


def test_outstanding_counts_open_unexpired_requests(partner, merchant):
    make_request(merchant, fiat_int=500)
    make_request(merchant, fiat_int=700, status="opened", proof_status="attached")
    make_request(
        merchant, fiat_int=900, expires_at=timezone.now() - timedelta(minutes=1)
    )
    make_request(merchant, fiat_int=1100, status="cancelled")
    make_verified(merchant, fiat_int=1300)
    board = dashboard_for(partner_tenant(partner))
    assert (board.outstanding.count, board.outstanding.fiat_int) == (2, 1200)


def test_figures_are_per_mode_and_per_partner(
    partner, merchant, test_merchant, bob_merchant
):
    make_verified(merchant, fiat_int=100)
    make_verified(test_merchant, fiat_int=200)
    make_verified(bob_merchant, fiat_int=400)
    assert dashboard_for(partner_tenant(partner)).verified_7d.fiat_int == 100
    assert dashboard_for(partner_tenant(partner, test=True)).verified_7d.fiat_int == 200


def test_chart_has_one_bar_per_day_scaled_to_the_peak(partner, merchant):
    make_verified(merchant, usdc_micro=4_000_000, days_ago=0)
    make_verified(merchant, usdc_micro=2_000_000, days_ago=0)
    make_verified(merchant, usdc_micro=3_000_000, days_ago=5)
    make_verified(merchant, usdc_micro=1_000, days_ago=9)  # tiny but visible
    make_verified(merchant, usdc_micro=9_000_000, days_ago=45)  # outside the chart
    chart = dashboard_for(partner_tenant(partner)).chart
    assert len(chart.bars) == CHART_DAYS
    heights = {bar.day: bar.height for bar in chart.bars}
    today = chart.last_day
    assert heights[today] == CHART_HEIGHT - 4  # the peak: 6 USDC
    assert heights[today - timedelta(days=5)] == pytest.approx((CHART_HEIGHT - 4) / 2)
    assert heights[today - timedelta(days=9)] == 2.0
    assert sum(1 for h in heights.values() if h) == 3
    assert chart.max_label == "6.000000"


def test_page_renders_kpis_chart_and_recent_payments(portal, partner, merchant):
    make_verified(merchant, fiat_int=4200, usdc_micro=45_654_000, reference="RCNT01")
    response = portal.get("/portal/")
    content = response.content.decode()
    assert "42.00" in content
    assert "45.654000 USDC" in content
    assert content.count("<rect ") == CHART_DAYS
    assert "RCNT01" in content


def test_dashboard_shows_webhook_health(portal, partner):
    from webhooks.services import webhook_endpoint_set, webhook_test_send

    webhook_endpoint_set(partner=partner, url="https://127.0.0.1:9/h", enabled=True)
    webhook_test_send(partner=partner)
    response = portal.get("/portal/")
    assert b'data-testid="webhook-health"' in response.content
    assert response.context["board"].delivery_states == {"pending": 1}
    # Every time the portal shows is UTC and says so, the recent deliveries too.
    assert re.search(
        r'badge pending">pending</span> <span class="mono small">webhook\.test</span> '
        r'<span class="muted small">\w{3} \d{1,2}, \d\d:\d\d UTC</span>',
        response.content.decode(),
    )


def partner_tenant(partner, *, test: bool = False):
    from jopay_project.tenancy import Tenant

    return Tenant(partner=partner, test_mode=test)


def test_a_recent_payment_of_another_year_shows_its_year(portal, partner, merchant):
    """ "Recent payments" are the latest 8 whenever they were: a mode quiet
    for a year showed last year's payment as "Dec 7 17:00", read as today."""
    paid = make_verified(merchant, days_ago=400, reference="OLD001")
    html = portal.get("/portal/").content.decode()
    row = re.search(r"OLD001.*?</tr>", html, re.S)[0]
    # The year beside the time, "Dec 7" / "2025 17:00", for another year
    # only: Y-m-d on every row made the table wider than a phone
    # (test_pages_fit_a_phone_with_long_names_and_a_failing_webhook).
    assert paid.verified_at.strftime("%Y %H:%M") in row
    assert paid.verified_at.strftime("%b ") + str(paid.verified_at.day) in row
    recent = make_verified(merchant, days_ago=0, reference="NEW001")
    row = re.search(r"NEW001.*?</tr>", portal.get("/portal/").content.decode(), re.S)[0]
    assert recent.verified_at.strftime("%Y") not in row
