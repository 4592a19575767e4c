"""The partner's logo beside its name is not read out as the name again (D22
branding, WCAG 1.1.1: an image next to the same text is decorative). Screen
readers said "Alice Pay, Alice Pay" at the top of every pay page and receipt."""

from __future__ import annotations

import pytest
from django.utils import timezone

from payments.models import PaymentRequest

from .conftest import CHAIN_ID
from .test_audit_52_wide_logo import LOGO, png

pytestmark = [
    pytest.mark.chain,
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

PR = PaymentRequest


def test_the_top_bar_says_the_partners_name_once(
    live_server, page, local_chain, make_request, partner
):
    partner.logo_url = LOGO
    partner.save()
    page.route(LOGO, lambda r: r.fulfill(content_type="image/png", body=png(96, 32)))
    paid = make_request(
        status=PR.Status.PAID,
        proof_status=PR.ProofStatus.VERIFIED,
        chain_id=CHAIN_ID,
        tx_hash="0x" + "1a" * 32,
        verified_at=timezone.now(),
    )
    for path in (f"/pay/{make_request().pk}", f"/pay/{paid.pk}/receipt"):
        page.goto(live_server.url + path)
        page.locator(".pay-topbar img.pay-logo").wait_for()
        said = page.get_by_role("banner").aria_snapshot()
        assert said.count(partner.name) == 1, (path, said)
