"""Stored XSS: markup in every string a partner, merchant or customer controls
renders as text on every page that shows it, in a real browser, even with the
Content-Security-Policy switched off (the policy is the second wall, not the
first).

Poisoned: the partner's name, the merchant's names and profile fields, a
request's memo, metadata keys and values and return URL, a plan's metadata,
an API key's name, the webhook URL (its events' payloads too), the chain's
name (staff-set) and the audit trail those writes leave. Rendered: the pay
page (open, and paid with its receipt), the onboarding page and every portal
page showing them. Each page is read raw (no unescaped payload) and loaded in
headless Chromium with ``bypass_csp`` (no payload ran, no dialog opened).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from django.test import Client

from merchants.keys import api_key_create
from merchants.models import Merchant
from merchants.onboarding_links import merchant_onboarding_link
from payments.models import PaymentRequest
from recurring.services import plan_create
from tests.browser import chromium
from tests.factories import WALLET, MerchantFactory, PartnerUserFactory, UserFactory
from tests.portal.conftest import logged_in, make_request, make_verified
from webhooks.services import webhook_endpoint_set, webhook_test_send

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Each payload sets window.__xss if it ever runs; one per context it could
# break out of: element text or attribute, inline JSON/script, a JS string.
ATTR = '"><svg/onload=window.__xss=1>'
SCRIPT = "</script><script>window.__xss=2</script>"
QUOTE = "'-(window.__xss=3)-'<b>"
PAYLOAD = ATTR + SCRIPT  # 70 characters: fits every 120-character name
RAW_MARKERS = ("<svg/onload", "<script>window", "<b>")


@pytest.fixture
def poisoned(partner, chain):
    partner.name = "Alice " + PAYLOAD
    partner.save()
    chain.name = ATTR[:40] + "<b>"
    chain.explorer_tx_url = "https://scan.example/tx/{tx}?" + ATTR
    chain.save()
    merchant = MerchantFactory(
        partner=partner,
        test_mode=True,
        business_name=PAYLOAD,
        display_name=QUOTE,
        website="https://shop.example/" + ATTR,
        industry=SCRIPT,
    )
    metadata = {ATTR[:40]: PAYLOAD, "order": QUOTE}
    open_pr = make_request(
        merchant,
        memo=PAYLOAD + QUOTE,
        metadata=metadata,
        return_url="https://shop.example/" + ATTR,
    )
    paid_pr = make_verified(
        merchant,
        memo=PAYLOAD,
        metadata=metadata,
        return_url="https://shop.example/" + ATTR,
        chain_id=chain.chain_id,
    )
    plan = plan_create(
        partner=partner,
        test_mode=True,
        merchant=merchant,
        fiat_amount_int=1500,
        frequency="monthly",
        customer_wallet=WALLET,
        metadata=metadata,
    )
    api_key_create(partner=partner, test_mode=True, name=PAYLOAD[:80])
    webhook_endpoint_set(
        partner=partner, url="https://127.0.0.1:9/hook?" + ATTR, enabled=True
    )
    webhook_test_send(partner=partner, test_mode=True)
    onboarding = MerchantFactory(
        partner=partner,
        test_mode=True,
        business_name=PAYLOAD,
        wallet_address="",
        onboarding_status=Merchant.OnboardingStatus.INCOMPLETE,
    )
    link = merchant_onboarding_link(merchant=onboarding)
    user = UserFactory(username="alice@example.com", email="alice@example.com")
    alice = PartnerUserFactory(user=user, partner=partner)
    return {
        "alice": alice,
        "public": [
            f"/pay/{open_pr.pk}",
            f"/pay/{paid_pr.pk}",
            f"/pay/{paid_pr.pk}/receipt",
            urlsplit(link.url).path,
        ],
        "portal": [
            "/portal/",
            "/portal/requests/",
            f"/portal/requests/{open_pr.pk}/",
            f"/portal/requests/{paid_pr.pk}/",
            "/portal/merchants/",
            f"/portal/merchants/{merchant.pk}/",
            f"/portal/merchants/{onboarding.pk}/",
            "/portal/plans/",
            f"/portal/plans/{plan.pk}/",
            "/portal/api-keys/",
            "/portal/webhooks/",
            "/portal/activity/",
            "/portal/settings/",
        ],
    }


def _unescaped(html: str) -> list[str]:
    # The payload's own markup, outside the one place it may sit raw: the
    # json_script block, where "<" is written as \u003C.
    body = re.sub(r'<script id="pay-config"[^>]*>.*?</script>', "", html, flags=re.S)
    return [m for m in RAW_MARKERS if m in body]


def test_no_page_renders_the_payloads_as_markup(poisoned):
    public = Client()
    portal = logged_in(poisoned["alice"], test_mode=True)
    pages = [(public, p) for p in poisoned["public"]]
    pages += [(portal, p) for p in poisoned["portal"]]
    for client, path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        html = response.content.decode()
        assert _unescaped(html) == [], path
        assert "&lt;svg/onload" in html or "\\u003Csvg/onload" in html, path


def test_no_payload_runs_in_a_browser_without_the_csp(poisoned, live_server):
    portal = logged_in(poisoned["alice"], test_mode=True)
    session = portal.cookies["sessionid"].value
    with chromium() as browser:
        context = browser.new_context(bypass_csp=True)
        dialogs: list[str] = []
        page = context.new_page()
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        for path in poisoned["public"]:
            page.goto(live_server.url + path)
            page.wait_for_load_state("load")
            assert page.evaluate("window.__xss") is None, path
        context.add_cookies(
            [{"name": "sessionid", "value": session, "url": live_server.url}]
        )
        for path in poisoned["portal"]:
            response = page.goto(live_server.url + path)
            assert response.status == 200, path
            page.wait_for_load_state("load")
            assert page.evaluate("window.__xss") is None, path
        assert dialogs == []
        context.close()


def test_the_pay_page_script_shows_the_memo_and_names_as_text(poisoned, live_server):
    """pay.js rewrites parts of the page from its JSON config: still text."""
    pr = PaymentRequest.objects.filter(proof_status="none").get()
    with chromium() as browser:
        context = browser.new_context(bypass_csp=True)
        page = context.new_page()
        page.goto(f"{live_server.url}/pay/{pr.pk}")
        page.wait_for_load_state("load")
        assert PAYLOAD in page.inner_text("h1")
        assert page.locator("svg[onload]").count() == 0
        assert page.evaluate("window.__xss") is None
        context.close()
