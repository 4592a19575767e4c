"""The portal in a real browser: headless Chromium against ``live_server``.

Marked ``browser``. With ``JOPAY_SCREENSHOTS=1`` the run also writes the
screenshots in ``docs/screenshots/`` (desktop 1280 px and phone 390 px wide).
Rows are committed (``live_server`` is transactional) so the server thread
sees what the test writes.
"""

from __future__ import annotations

import os
import re
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import trustme
from django.db import transaction
from playwright.sync_api import Page, expect

from merchants.keys import api_key_create
from merchants.models import ApiKey
from payments.serializers import payment_request_event_data
from recurring.models import Charge, Plan
from recurring.services import plan_create
from tests.factories import WALLET, MerchantFactory
from tests.portal.conftest import make_request, make_verified
from tests.portal.portal_browser import (  # noqa: F401 (fixtures)
    DESKTOP,
    alice_fixture,
    browser_fixture,
    page_fixture,
    sign_in,
)
from webhooks.models import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
from webhooks.services import event_emit
from webhooks.signing import verify_jopay
from webhooks.tasks import webhook_delivery_send_task

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "docs" / "screenshots"
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def shot():
    """``shot(page, name)``: desktop and phone screenshots when JOPAY_SCREENSHOTS=1."""
    enabled = os.environ.get("JOPAY_SCREENSHOTS") == "1"

    def take(page: Page, name: str) -> None:
        if not enabled:
            return
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.set_viewport_size(DESKTOP)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
        page.set_viewport_size(PHONE)
        page.screenshot(path=str(SHOTS / f"{name}-mobile.png"), full_page=True)
        page.set_viewport_size(DESKTOP)

    return take


@pytest.fixture
def receiver(settings, tmp_path):
    """A real HTTPS webhook receiver on 127.0.0.1 that records what it gets."""
    ca = trustme.CA()
    ca_path = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_path))
    settings.JOPAY_WEBHOOK_CA_BUNDLE = str(ca_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    received: list[tuple[dict, bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            received.append(({k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    server.url = f"https://127.0.0.1:{server.server_address[1]}/jopay/hooks"
    server.received = received
    yield server
    server.shutdown()
    server.server_close()


def test_sign_in_key_shown_once_webhook_test_and_verified_payment(
    live_server, page, shot, partner, alice, rates, receiver
):
    base = live_server.url
    shop = MerchantFactory(
        partner=partner,
        business_name="Blue Bottle Roasters",
        display_name="Blue Bottle",
    )
    MerchantFactory(partner=partner, business_name="Corner Books", display_name="")
    MerchantFactory(
        partner=partner,
        business_name="Night Market Stall",
        wallet_address="",
        onboarding_status="incomplete",
    )
    for days, cents in ((1, 4200), (3, 1250), (6, 9900), (12, 3000), (20, 15000)):
        make_verified(shop, fiat_int=cents, usdc_micro=cents * 10_870, days_ago=days)
    make_request(shop, fiat_int=1999, usdc_micro=21_728_001)

    # Anonymous → login page; then sign in with e-mail and password.
    page.goto(f"{base}/portal/requests/")
    expect(page).to_have_url(re.compile(r"/portal/login/\?next="))
    shot(page, "login")
    sign_in(page, base, alice.user.email)
    expect(page.get_by_test_id("kpi-30d")).to_contain_text("EUR")
    shot(page, "dashboard")

    # Create a key: the full key is shown once, a reload does not show it again.
    page.goto(f"{base}/portal/api-keys/")
    page.fill("input[name=name]", "checkout server")
    page.click("[data-testid=key-form] button[type=submit]")
    value = page.get_by_test_id("new-key-value")
    expect(value).to_have_text(re.compile(r"^jo_live_[A-Za-z0-9]{32}$"))
    full_key = value.inner_text()
    key = ApiKey.objects.get(name="checkout server")
    assert full_key.startswith(key.prefix)
    expect(page.get_by_test_id("key-list")).to_contain_text(key.prefix)
    shot(page, "api-keys")
    page.reload()
    expect(page.get_by_test_id("new-key")).to_have_count(0)
    assert full_key not in page.content()
    expect(page.get_by_test_id("key-list")).to_contain_text(key.prefix)

    # Webhooks: set an https URL on 127.0.0.1 (allowed in tests, D26), switch
    # sending on (the new secret is shown), send a test event and see its event
    # and delivery in the log.
    page.goto(f"{base}/portal/webhooks/")
    page.fill("input[name=url]", receiver.url)
    page.click("[data-testid=endpoint-card] form button[type=submit] >> text=Save")
    expect(page.locator(".messages")).to_contain_text("Webhook URL saved")
    page.click("text=Switch sending on")
    expect(page.get_by_test_id("secret-whsec")).to_have_text(re.compile(r"^whsec_"))
    secret = page.get_by_test_id("secret-hex").inner_text()
    page.goto(f"{base}/portal/webhooks/")
    page.get_by_test_id("send-test").click()
    expect(page.locator(".messages")).to_contain_text("Test event queued")
    event_row = page.get_by_test_id("event-row").first
    expect(event_row).to_contain_text("webhook.test")
    expect(event_row.get_by_test_id("delivery-state")).to_have_text("pending")
    event = WebhookEvent.objects.get(partner=partner, type="webhook.test")
    delivery = WebhookDelivery.objects.get(event=event)
    expect(page.locator(f"text={delivery.pk}")).to_be_visible()

    # Run the send task's body (no worker in this test): the receiver gets a
    # delivery signed with the secret the portal showed (D25), and the log
    # shows the attempt with its status code and latency.
    webhook_delivery_send_task(str(delivery.pk))
    headers, body = receiver.received[-1]
    assert headers["webhook-id"] == str(delivery.pk)
    assert verify_jopay(
        headers["x-jopay-signature"], body, secret, now=int(time.time())
    )
    page.reload()
    expect(event_row.get_by_test_id("delivery-state")).to_have_text("delivered")
    expect(event_row.locator("table.attempts")).to_contain_text("200")
    expect(event_row.locator("table.attempts")).to_contain_text(" ms")
    shot(page, "webhooks")

    # A payment verified behind the portal's back appears on reload.
    page.goto(f"{base}/portal/requests/")
    rows_before = page.get_by_test_id("request-row").count()
    paid = make_verified(shop, fiat_int=3150, usdc_micro=34_239_123, reference="PAID42")
    with transaction.atomic():  # as the proof services write them (D23, D24)
        for kind in ("payment.proof_attached", "payment.proof_verified"):
            event_emit(
                partner=partner,
                test_mode=False,
                type=kind,
                data=payment_request_event_data(paid),
                request_id=paid.pk,
            )
    for pending in WebhookDelivery.objects.filter(state="pending"):
        webhook_delivery_send_task(str(pending.pk))
    page.reload()
    expect(page.get_by_test_id("request-row")).to_have_count(rows_before + 1)
    row = page.get_by_test_id("request-row").filter(has_text="PAID42")
    expect(row.get_by_test_id("proof-status")).to_have_text("verified")
    shot(page, "requests")

    page.goto(f"{base}/portal/requests/{paid.pk}/")
    expect(page.get_by_test_id("request-proof-status")).to_have_text("proof verified")
    timeline = page.get_by_test_id("timeline")
    expect(timeline.locator("li")).to_have_count(2)
    expect(timeline.locator("li").nth(1)).to_contain_text("payment.proof_verified")
    expect(timeline).to_contain_text("delivered")
    shot(page, "request-detail")

    page.goto(f"{base}/portal/settings/")
    shot(page, "settings")
    page.goto(f"{base}/portal/merchants/")
    expect(page.get_by_test_id("merchant-list")).to_contain_text("Blue Bottle Roasters")
    shot(page, "merchants")
    page.goto(f"{base}/portal/merchants/{shop.pk}/")
    shot(page, "merchant-detail")
    plan = plan_create(
        partner=partner,
        test_mode=False,
        merchant=shop,
        fiat_amount_int=1500,
        frequency="monthly",
        customer_wallet=WALLET,
        customer_email="subscriber@example.com",
    )
    Charge.objects.create(
        plan=plan,
        slot=0,
        due_at=plan.anchor_at,
        status="created",
        payment_request=make_request(shop, fiat_int=1500, reference="SUB001"),
    )
    Plan.objects.filter(pk=plan.pk).update(charges_count=1)
    page.goto(f"{base}/portal/plans/")
    expect(page.get_by_test_id("plan-list")).to_contain_text("Blue Bottle Roasters")
    shot(page, "plans")
    page.goto(f"{base}/portal/plans/{plan.pk}/")
    page.click("text=Pause")
    expect(page.get_by_test_id("plan-status")).to_have_text("paused")
    expect(page.get_by_test_id("charge-list")).to_contain_text("SUB001")
    shot(page, "plan-detail")

    page.goto(f"{base}/portal/login/")  # signed in: the login page sends you on
    expect(page).to_have_url(f"{base}/portal/")


def test_test_mode_banner_and_settings_in_major_units(
    live_server, page, shot, partner, alice
):
    base = live_server.url
    sign_in(page, base, alice.user.email)
    expect(page.get_by_test_id("test-banner")).to_have_count(0)
    page.click("[data-testid=mode-switch] button[value=test]")
    expect(page.get_by_test_id("test-banner")).to_contain_text("TEST MODE")

    page.goto(f"{base}/portal/settings/")
    page.check("input[name=enabled_currencies][value=JPY]")
    page.select_option("select[name=default_currency]", "JPY")
    page.fill("input[name=min_amount]", "12.5")  # JPY has no minor unit
    page.click("[data-testid=settings-form] button[type=submit]")
    expect(page.locator(".errorlist")).to_contain_text("JPY takes no decimals")
    page.fill("input[name=min_amount]", "150")
    page.fill("input[name=max_amount]", "50000")
    page.click("[data-testid=settings-form] button[type=submit]")
    expect(page.locator(".messages")).to_contain_text("Settings saved")
    partner.refresh_from_db()
    assert (partner.default_currency, partner.min_fiat_per_request) == ("JPY", 150)
    assert partner.max_fiat_per_request == 50_000
    shot(page, "settings-test-mode")


# Every table-wrap and the page itself fit a 390 px phone: no action, status or
# amount hides behind a horizontal scroll (long merchant names, large amounts,
# a failing webhook's attempts, a revoked key).
FIT_JS = """() => {
  const root = document.documentElement;
  const bad = [];
  if (root.scrollWidth > root.clientWidth) bad.push("page " + root.scrollWidth);
  for (const el of document.querySelectorAll(".table-wrap")) {
    if (el.scrollWidth > el.clientWidth + 1) {
      bad.push("table " + el.scrollWidth + " " + el.textContent.trim().slice(0, 60));
    }
  }
  return bad;
}"""


def test_pages_fit_a_phone_with_long_names_and_a_failing_webhook(
    live_server, page, partner, alice, rates
):
    base = live_server.url
    long_name = (
        "Schwarzwälder Kirschtorten- und Konditoreibedarfsgroßhandel GmbH & Co. KG"
    )
    shop = MerchantFactory(
        partner=partner,
        business_name=long_name,
        display_name="",
        email="buchhaltung.zentrale@konditoreibedarfsgrosshandel.example",
    )
    for days in range(6):
        make_verified(
            shop, fiat_int=99_999_999, usdc_micro=108_695_651_000, days_ago=days
        )
    mismatch = make_request(
        shop,
        fiat_int=99_999_999,
        proof_status="mismatch",
        mismatch_reason="underpaid",
        tx_hash="0x" + "ab" * 32,
        chain_id=84532,
    )
    revoked, _ = api_key_create(partner=partner, test_mode=False, name="old server")
    ApiKey.objects.filter(pk=revoked.pk).update(revoked_at=revoked.created_at)
    api_key_create(
        partner=partner, test_mode=False, name="reporting", scopes=["requests:read"]
    )
    endpoint = WebhookEndpoint.objects.create(
        partner=partner,
        url="https://hooks.example.com/jopay/webhooks/receive/v2/production?tenant=alice",
        secret="ab" * 32,
        enabled=True,
        failing_since=revoked.created_at,
    )
    event = WebhookEvent.objects.create(
        partner=partner, test_mode=False, type="webhook.test", payload={"ok": True}
    )
    delivery = WebhookDelivery.objects.create(
        partner=partner,
        test_mode=False,
        event=event,
        endpoint=endpoint,
        state="failed",
        attempts=2,
    )
    WebhookAttempt.objects.create(
        delivery=delivery,
        number=1,
        started_at=event.created_at,
        error="connection error",
        latency_ms=3,
    )
    WebhookAttempt.objects.create(
        delivery=delivery,
        number=2,
        started_at=event.created_at,
        status_code=503,
        latency_ms=120,
        response_body="<html><head><title>503 Service Unavailable</title></head>",
    )
    plan = plan_create(
        partner=partner,
        test_mode=False,
        merchant=shop,
        fiat_amount_int=150_000,
        frequency="monthly",
        customer_wallet=WALLET,
    )

    sign_in(page, base, alice.user.email)
    page.set_viewport_size(PHONE)
    for path in (
        "",
        "requests/",
        f"requests/{mismatch.pk}/",
        "merchants/",
        f"merchants/{shop.pk}/",
        "plans/",
        f"plans/{plan.pk}/",
        "api-keys/",
        "webhooks/",
        "settings/",
        "activity/",
    ):
        page.goto(f"{base}/portal/{path}")
        assert page.evaluate(FIT_JS) == [], path
    page.goto(f"{base}/portal/api-keys/")
    expect(page.get_by_test_id("key-revoked")).to_be_in_viewport()
    expect(
        page.locator("[data-testid=key-list] button.danger").first
    ).to_be_in_viewport()


def test_a_refused_form_on_a_phone_opens_at_its_error(live_server, page, alice):
    """The key form sits below the keys list: after a refused POST on a
    390 px screen the invalid field is focused and on screen
    (``jopay_project.forms.FocusFirstInvalid``), not below the fold."""
    base = live_server.url
    with transaction.atomic():
        for n in range(8):  # a list long enough to push the form down
            api_key_create(partner=alice.partner, test_mode=False, name=f"k{n}")
    page.set_viewport_size(PHONE)
    sign_in(page, base, alice.user.email)
    page.goto(f"{base}/portal/api-keys/")
    page.fill("input[name=name]", "expired")
    page.fill("input[name=expires_at]", "2020-01-01T00:00")
    page.locator("form:has(input[name=expires_at]) button[type=submit]").click()
    page.wait_for_load_state()
    assert page.evaluate("document.activeElement.name") == "expires_at"
    box = page.locator("input[name=expires_at]").bounding_box()
    assert box["y"] >= 0
    assert box["y"] + box["height"] <= PHONE["height"]
    assert page.evaluate("window.scrollY") > 0  # it had to scroll to get there
