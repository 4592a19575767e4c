"""USDC amounts on the pay page and receipt (D22): a large amount reads grouped
(``1,234,567.891234 USDC``), while what is copied, scanned or given to a wallet
stays the exact, ungrouped text. Money is integers (micro-USDC) throughout."""

from __future__ import annotations

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from payments.models import PaymentRequest
from payments.money import format_usdc
from payments.pay.presenters import group_usdc
from tests.browser import chromium

from .conftest import CHAIN_ID, PAYERS
from .pay_browser import config_of, install_wallet, watch_csp

pytestmark = pytest.mark.chain

PR = PaymentRequest
BIG = 1_234_567_891_234  # 1,234,567.891234 USDC
HASH = "0x" + "3e" * 32


def html_of(client, path: str) -> str:
    return client.get(path).content.decode()


@pytest.mark.parametrize(
    ("micro", "text"),
    [
        (0, "0.000000"),
        (123, "0.000123"),
        (999_999_999, "999.999999"),
        (1_000_000_000, "1,000.000000"),
        (BIG, "1,234,567.891234"),
        (2**63 - 1, "9,223,372,036,854.775807"),  # the largest BIGINT
    ],
)
def test_group_usdc_groups_the_integer_part_only(micro, text):
    assert group_usdc(micro) == text
    assert group_usdc(micro).replace(",", "") == format_usdc(micro)  # same digits


def test_an_open_page_reads_grouped_and_copies_exact(client, local_chain, make_request):
    pr = make_request(usdc_micro=BIG)
    html = html_of(client, f"/pay/{pr.pk}")

    # Read: grouped, in the summary and in the QR code's name.
    assert '<strong class="mono" data-testid="usdc">1,234,567.891234 USDC</strong>' in (
        html
    )
    assert 'aria-label="QR code to pay 1,234,567.891234 USDC on' in html
    assert "1234567.891234 USDC" not in html
    # Copied or paid: exact, no separator.
    assert 'data-copy="1234567.891234"' in html
    assert "uint256=1234567891234" in html  # the EIP-681 link (and its QR code)
    config = config_of(html)
    assert config["usdc_text"] == "1234567.891234"
    assert config["usdc_micro"] == str(BIG)
    assert config["chains"][0]["amount_units"] == str(BIG)


def _verified(make_request, **fields):
    return make_request(
        status=PR.Status.PAID,
        proof_status=PR.ProofStatus.VERIFIED,
        chain_id=CHAIN_ID,
        tx_hash=HASH,
        proof_source=PR.ProofSource.CUSTOMER,
        verified_at=timezone.now(),
        payer_address=PAYERS[0],
        **fields,
    )


def test_the_paid_page_and_the_receipt_read_grouped(client, local_chain, make_request):
    received = BIG + 1_000_000_000  # overpaid by 1,000 USDC (D20)
    pr = _verified(
        make_request,
        usdc_micro=BIG,
        overpaid_micro=1_000_000_000,
        evidence={"value_micro": str(received)},
    )

    page = html_of(client, f"/pay/{pr.pk}")
    receipt = html_of(client, f"/pay/{pr.pk}/receipt")

    assert "has received 1,235,567.891234 USDC." in page
    assert "1,235,567.891234 USDC" in receipt
    assert "(requested 1,234,567.891234)" in receipt


# --- the script groups the same way ----------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_script_groups_as_the_server_does_and_pays_the_exact_amount(
    live_server, anvil, local_chain, make_request
):
    pr = make_request(usdc_micro=BIG)
    samples = [0, 123, 999_999_999, 1_000_000_000, BIG, 10**15 + 7, 2**63 - 1]
    with chromium() as browser:
        page = browser.new_page()
        page.set_default_timeout(15_000)
        violations = watch_csp(page)
        # The wallet's prompt stays open: the page keeps asking to confirm.
        install_wallet(page, anvil, PAYERS[0], hang=["eth_sendTransaction"])
        page.goto(f"{live_server.url}/pay/{pr.pk}")

        grouped = page.evaluate(
            "texts => texts.map(t => window.JoPayFormat.groupUsdc(t))",
            [format_usdc(m) for m in samples],
        )
        assert grouped == [group_usdc(m) for m in samples]

        page.get_by_test_id("pay-wallet").click()
        expect(page.locator("#wallet-note")).to_have_text(
            "Confirm the transfer of exactly 1,234,567.891234 USDC in your wallet…"
        )
        expect(page.locator("#pay-usdc-copy")).to_have_attribute(
            "data-copy", "1234567.891234"
        )
        # The transfer the wallet was asked to sign: the exact amount in units.
        params = page.evaluate("JSON.parse(sessionStorage.getItem('walletParams'))")
        calldata = params["eth_sendTransaction"][0]["data"]
        assert int(calldata[-64:], 16) == BIG
    assert violations == []
