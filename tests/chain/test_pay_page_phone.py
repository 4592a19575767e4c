"""The pay page and the receipt on small phones (D22): nothing scrolls sideways
at 320, 360 or 375 px, with every chain's panel, long amounts and a receipt."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from payments.models import PaymentRequest

from .conftest import CHAIN_ID, PAYERS

pytestmark = [
    pytest.mark.chain,
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

PR = PaymentRequest
WIDTHS = [320, 360, 375]
WIDE = "() => [document.documentElement.scrollWidth, window.innerWidth]"


def scrolls_sideways(browser, url: str, width: int) -> list[int]:
    context = browser.new_context(viewport={"width": width, "height": 740})
    try:
        phone = context.new_page()
        phone.goto(url)
        expect(phone.get_by_test_id("status").or_(phone.get_by_test_id("receipt")))
        return phone.evaluate(WIDE)
    finally:
        context.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_an_open_page_with_a_long_amount_fits_a_small_phone(
    live_server, browser, local_chain, make_request, width
):
    # The chain panel names the USDC contract: a 42-character address in code.
    pr = make_request(
        fiat_int=2_147_483_647, fiat_code="KRW", usdc_micro=1_234_567_890_123_456
    )
    scroll, inner = scrolls_sideways(browser, f"{live_server.url}/pay/{pr.pk}", width)
    assert scroll <= inner


@pytest.mark.parametrize("width", WIDTHS)
def test_a_receipt_fits_a_small_phone(
    live_server, browser, local_chain, make_request, width
):
    pr = make_request(
        status=PR.Status.PAID,
        proof_status=PR.ProofStatus.VERIFIED,
        tx_hash="0x" + "ab" * 32,
        chain_id=CHAIN_ID,
        payer_address=PAYERS[0],
        verified_at=timezone.now() - timedelta(minutes=1),
        proof_source=PR.ProofSource.CUSTOMER,
    )
    url = f"{live_server.url}/pay/{pr.pk}/receipt"
    scroll, inner = scrolls_sideways(browser, url, width)
    assert scroll <= inner


# One word longer than a phone is wide (a German compound, a domain-like name).
LONG_NAME = "Donaudampfschifffahrtsgesellschaftskapitän"


@pytest.mark.parametrize("state", ["open", "cancelled", "closed", "paid", "receipt"])
def test_a_long_one_word_merchant_name_fits_a_small_phone(
    live_server, browser, local_chain, make_request, state
):
    # The heading "Pay <merchant>", the cards that name the merchant and the
    # partner's name in the top bar scrolled a 360 px page sideways.
    fields = {
        "open": {},
        "cancelled": {"status": PR.Status.CANCELLED},
        "closed": {"status": PR.Status.EXPIRED, "expires_in": -timedelta(hours=1)},
    }.get(state)
    if fields is None:
        fields = {
            "status": PR.Status.PAID,
            "proof_status": PR.ProofStatus.VERIFIED,
            "tx_hash": "0x" + "cd" * 32,
            "chain_id": CHAIN_ID,
            "payer_address": PAYERS[0],
            "verified_at": timezone.now(),
            "proof_source": PR.ProofSource.CUSTOMER,
        }
    pr = make_request(**fields)
    pr.merchant.business_name = LONG_NAME
    pr.merchant.save(update_fields=["business_name"])
    pr.partner.name = LONG_NAME
    pr.partner.save(update_fields=["name"])
    url = f"{live_server.url}/pay/{pr.pk}" + ("/receipt" if state == "receipt" else "")
    for width in WIDTHS:
        scroll, inner = scrolls_sideways(browser, url, width)
        assert scroll <= inner, (width, scroll)
