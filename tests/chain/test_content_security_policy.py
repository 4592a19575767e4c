"""Content-Security-Policy on every HTML page, and the pages still work under it.

The policy allows same-origin script files only, so no template may carry an
inline ``<script>`` (JSON data blocks excepted) or an ``on*=`` handler; the
browser test walks the pay page, receipt, portal, onboarding, docs and admin
and fails on any violation the page reports.
"""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.utils import timezone
from playwright.sync_api import expect

from jopay_project.middleware import csp_with
from merchants.onboarding_links import merchant_onboarding_link
from payments.models import PaymentRequest
from tests.browser import chromium, portal_sign_in
from tests.factories import MerchantFactory, PartnerUserFactory, UserFactory

from .conftest import CHAIN_ID, PAYERS
from .pay_browser import watch_csp

pytestmark = pytest.mark.chain

PR = PaymentRequest
TEMPLATES = Path(settings.BASE_DIR) / "templates"
POLICY = settings.JOPAY_CONTENT_SECURITY_POLICY
PASSWORD = "correct-horse-battery"  # tests/factories.UserFactory's password


def csp(response) -> str | None:
    return response.headers.get("Content-Security-Policy")


def verified(make_request, **fields):
    return make_request(
        status=PR.Status.PAID,
        proof_status=PR.ProofStatus.VERIFIED,
        chain_id=CHAIN_ID,
        tx_hash="0x" + secrets.token_hex(32),
        proof_source=PR.ProofSource.CUSTOMER,
        verified_at=timezone.now(),
        payer_address=PAYERS[0],
        **fields,
    )


# --- the header --------------------------------------------------------------------


def test_the_policy_refuses_inline_script_and_framing():
    directives = dict(part.strip().split(" ", 1) for part in POLICY.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["default-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    assert directives["form-action"] == "'self'"
    assert directives["base-uri"] == "'none'"


def test_html_pages_carry_the_policy(client, local_chain, make_request):
    pr = make_request()
    paid = verified(make_request)
    paths = [
        f"/pay/{pr.pk}",
        f"/pay/{paid.pk}/receipt",
        f"/pay/{pr.pk}/receipt",  # the friendly 404 page
        "/pay/not-a-uuid",
        "/portal/login/",
        "/docs/",
        "/admin/login/",
    ]
    for path in paths:
        response = client.get(path)
        assert response["Content-Type"].startswith("text/html"), path
        assert csp(response) == POLICY, path


def test_json_answers_carry_none(client, local_chain, make_request):
    pr = make_request()
    assert csp(client.get(f"/pay/{pr.pk}/status")) is None
    assert csp(client.get("/api/v1/requests")) is None


def test_the_api_reference_page_may_start_its_search_worker_only(client, db):
    response = client.get("/docs/api/")

    assert csp(response) == csp_with(
        POLICY, {"worker-src": "blob:"}, {"img-src": "'self' data:"}
    )
    assert "script-src 'self';" in csp(response)
    assert "img-src 'self' data:;" in csp(response)  # not Redoc's logo CDN
    # No third-party request: the reader's address is not sent to a font host.
    html = response.content.decode()
    assert "googleapis" not in html
    assert "gstatic" not in html
    assert "<redoc spec-url=" in html


_INLINE_SCRIPT = re.compile(
    r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", re.I
)
_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.I)


def test_no_template_carries_inline_script_or_event_handlers():
    offenders = []
    for template in sorted(TEMPLATES.rglob("*.html")):
        text = template.read_text()
        for pattern in (_INLINE_SCRIPT, _HANDLER, re.compile("javascript:", re.I)):
            offenders += [
                f"{template.relative_to(TEMPLATES)}: {m.group(0)}"
                for m in pattern.finditer(text)
            ]
    assert offenders == []


# --- in a browser ------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_pages_run_under_the_policy_without_violations(
    live_server, local_chain, make_request, partner
):
    pr = make_request()
    paid = verified(make_request)
    user = UserFactory(username="ops@alice-pay.example", email="ops@alice-pay.example")
    PartnerUserFactory(user=user, partner=partner)
    get_user_model().objects.create_superuser("root", "root@example.com", PASSWORD)
    onboarding = merchant_onboarding_link(
        merchant=MerchantFactory(
            partner=partner, wallet_address="", onboarding_status="incomplete"
        )
    )
    base = live_server.url

    with chromium() as browser:
        context = browser.new_context()
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.on("dialog", lambda dialog: dialog.accept())
        violations = watch_csp(page)
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        headers: dict[str, str | None] = {}
        page.on(
            "response",
            lambda r: (
                headers.__setitem__(r.url, r.headers.get("content-security-policy"))
                if r.request.resource_type == "document"
                else None
            ),
        )

        # Pay page: its script runs (countdown), the copy button works.
        page.goto(f"{base}/pay/{pr.pk}")
        expect(page.get_by_test_id("countdown")).to_contain_text("left")
        copy = page.locator("[data-copy]").first
        copy.click()
        expect(copy).to_have_text("Copied")
        copy.click()  # again within the pause: the label used to stay "Copied"
        expect(copy).to_have_text("Copy", timeout=5_000)

        # Receipt: the Print button (was an inline onclick).
        page.goto(f"{base}/pay/{paid.pk}/receipt")
        page.evaluate("window.print = () => { window.printed = true; }")
        page.get_by_test_id("print").click()
        assert page.evaluate("window.printed") is True

        # Portal: sign in, dashboard, a page with the confirm script.
        portal_sign_in(page, base, user.email, PASSWORD)
        page.goto(f"{base}/portal/api-keys/")
        page.goto(f"{base}/portal/requests/")

        # Onboarding, docs and the Redoc API reference.
        page.goto(
            onboarding.url.replace(settings.JOPAY_PUBLIC_BASE_URL.rstrip("/"), base)
        )
        expect(page.locator("form")).to_have_count(1)
        page.goto(f"{base}/docs/")
        page.goto(f"{base}/docs/api/")
        expect(page.locator("#redoc-container, redoc").first).to_contain_text(
            "JoPay partner API", timeout=15_000
        )

        # Admin: sign in, lists, a change form, the custom pages.
        page.goto(f"{base}/admin/login/")
        page.fill("#id_username", "root")
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        expect(page).to_have_url(f"{base}/admin/")
        for path in (
            "/admin/payments/paymentrequest/",
            f"/admin/payments/paymentrequest/{pr.pk}/change/",
            f"/admin/payments/paymentrequest/{pr.pk}/attach-proof/",
            "/admin/payments/fxrate/",
            "/admin/merchants/partner/add/",
        ):
            response = page.goto(base + path)
            assert response.status == 200, path

        context.close()

    # The one refusal the policy is there for: Redoc's footer logo on its CDN
    # (tests/docs/test_api_reference_offline.py).
    assert [v for v in violations if "cdn.redoc.ly" not in v] == []
    assert errors == []
    documents = {url: value for url, value in headers.items() if url.startswith(base)}
    assert documents, "saw the pages"
    assert all(value for value in documents.values()), documents
