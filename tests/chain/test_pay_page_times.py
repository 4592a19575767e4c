"""Times on the pay page and receipt: the server writes every one in UTC, said
so, inside ``<time datetime="…Z">`` (D1), which is right without a script; the
script shows each in the device's own zone, named. The page used to show the
deadline in local time without a zone next to a grace deadline in UTC."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from jopay_project.formats import iso
from payments.models import PaymentRequest
from tests.browser import chromium

from .conftest import CHAIN_ID, PAYERS
from .pay_browser import watch_csp

pytestmark = pytest.mark.chain

PR = PaymentRequest
HASH = "0x" + "4d" * 32
TIME = re.compile(r'<time\b([^>]*)\bdatetime="([^"]+)"([^>]*)>([^<]*)</time>')
ZONE = "Asia/Kolkata"  # UTC+5:30: no device clock here is on it by chance


def grace(make_request):
    return make_request(status=PR.Status.EXPIRED, expires_in=-timedelta(minutes=2))


def verified(make_request):
    return make_request(
        status=PR.Status.PAID,
        proof_status=PR.ProofStatus.VERIFIED,
        chain_id=CHAIN_ID,
        tx_hash=HASH,
        proof_source=PR.ProofSource.CUSTOMER,
        verified_at=timezone.now() - timedelta(minutes=3),
        payer_address=PAYERS[0],
    )


def times_in(html: str) -> list[tuple[str, str, bool]]:
    """(datetime attribute, text, has data-seconds) of every <time>."""
    return [
        (m.group(2), m.group(4), "data-seconds" in m.group(1) + m.group(3))
        for m in TIME.finditer(html)
    ]


def utc_text(stamp: str, seconds: bool) -> str:
    at = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return at.strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M") + " UTC"


@pytest.mark.parametrize("zone", ["UTC", "Asia/Tokyo"])
def test_the_server_writes_every_time_in_utc_and_says_so(
    client, settings, local_chain, make_request, zone
):
    # Whatever the server's own zone: the receipt printed its local time + " UTC".
    settings.TIME_ZONE = zone
    open_pr, grace_pr, paid = (
        make_request(),
        grace(make_request),
        verified(make_request),
    )

    pages = {
        "open": (  # the grace note's deadline is there too, hidden until expiry
            client.get(f"/pay/{open_pr.pk}").content.decode(),
            [open_pr.expires_at, open_pr.proof_deadline],
        ),
        "grace": (
            client.get(f"/pay/{grace_pr.pk}").content.decode(),
            [grace_pr.expires_at, grace_pr.proof_deadline],
        ),
        "receipt": (
            client.get(f"/pay/{paid.pk}/receipt").content.decode(),
            [paid.verified_at],
        ),
    }
    for name, (html, expected) in pages.items():
        found = times_in(html)
        assert [stamp for stamp, _, _ in found] == [iso(t) for t in expected], name
        for stamp, text, seconds in found:
            assert stamp.endswith("Z"), name
            assert text == utc_text(stamp, seconds), name
    assert "Verified</dt><dd><time" in pages["receipt"][0]


# --- in a browser ---------------------------------------------------------------


def local_text(at: datetime, seconds: bool = False) -> str:
    """What Intl.DateTimeFormat writes for ``at`` in ZONE, en-US, short zone name."""
    d = at.astimezone(ZoneInfo(ZONE))
    clock = d.strftime("%I:%M:%S %p" if seconds else "%I:%M %p")
    return f"{d:%b} {d.day}, {d:%Y}, {clock} GMT+5:30"


def shown_times(page) -> list[dict]:
    return page.eval_on_selector_all(
        "time[datetime]",
        "els => els.map(e => ({text: e.textContent.replace(/\\u202f/g, ' '),"
        " title: e.title}))",
    )


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_script_shows_every_time_in_the_devices_zone_named(
    live_server, local_chain, make_request
):
    grace_pr, paid = grace(make_request), verified(make_request)
    with chromium() as browser:
        context = browser.new_context(timezone_id=ZONE, locale="en-US")
        page = context.new_page()
        page.set_default_timeout(15_000)
        violations = watch_csp(page)

        page.goto(f"{live_server.url}/pay/{grace_pr.pk}")
        expect(page.get_by_test_id("grace-note")).to_be_visible()
        expect(page.locator("#pay-expires")).to_contain_text("GMT+5:30")
        # The deadline to pay and the deadline for a hash, both local and named.
        assert shown_times(page) == [
            {
                "text": local_text(grace_pr.expires_at),
                "title": grace_pr.expires_at.astimezone(UTC).strftime(
                    "%Y-%m-%d %H:%M UTC"
                ),
            },
            {
                "text": local_text(grace_pr.proof_deadline),
                "title": grace_pr.proof_deadline.astimezone(UTC).strftime(
                    "%Y-%m-%d %H:%M UTC"
                ),
            },
        ]

        page.goto(f"{live_server.url}/pay/{paid.pk}/receipt")
        expect(page.locator("time")).to_contain_text("GMT+5:30")
        assert shown_times(page) == [
            {
                "text": local_text(paid.verified_at, seconds=True),
                "title": paid.verified_at.astimezone(UTC).strftime(
                    "%Y-%m-%d %H:%M:%S UTC"
                ),
            }
        ]
        context.close()
    assert violations == []


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_without_a_script_the_times_stay_in_utc(live_server, local_chain, make_request):
    pr = grace(make_request)
    with chromium() as browser:
        context = browser.new_context(
            timezone_id=ZONE, locale="en-US", java_script_enabled=False
        )
        page = context.new_page()
        page.goto(f"{live_server.url}/pay/{pr.pk}")
        shown = page.locator("time[datetime]").all_inner_texts()
        context.close()
    assert shown == [
        pr.expires_at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        pr.proof_deadline.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    ]
