"""The public pay page over the Django test client (D22, D27, D32, spec §13.1/13.5)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.test import RequestFactory
from django.utils import timezone

from merchants.models import Partner
from payments.models import Chain, PaymentRequest
from payments.pay.views import pay_page, pay_proof, pay_status
from payments.proofs.services import proof_attach, proof_verify
from webhooks.models import WebhookEvent

from .conftest import CHAIN_ID, PAYERS, send_token

pytestmark = pytest.mark.chain

PR = PaymentRequest
HASH = "0x" + "5a" * 32


def page(pr, suffix=""):
    return f"/pay/{pr.pk}{suffix}"


def post_proof(client, pr, body, **kw):
    return client.post(page(pr, "/proof"), body, content_type="application/json", **kw)


@pytest.fixture
def pr(local_chain, make_request, partner):
    partner.logo_url = "https://cdn.example/alice.png"
    partner.primary_color = "#AA3300"
    partner.save()
    return make_request(
        usdc_micro=27_500_123,
        fiat_int=2500,
        fiat_code="EUR",
        memo="Table 7 <b>dinner</b>",
        return_url="https://shop.example/thanks",
    )


# --- GET /pay/<id> ------------------------------------------------------------


def test_page_shows_the_request_and_moves_requested_to_opened(client, pr, usdc):
    response = client.get(page(pr))

    assert response.status_code == 200
    html = response.content.decode()
    assert pr.merchant.name in html
    assert "25.00 EUR" in html
    assert "27.500123 USDC" in html
    assert pr.reference in html
    assert pr.receiving_address in html
    assert "Table 7 &lt;b&gt;dinner&lt;/b&gt;" in html  # escaped, never raw HTML
    assert "https://cdn.example/alice.png" in html
    assert "--brand: #AA3300" in html
    assert "<svg" in html  # the QR code, inline
    uri = (
        f"ethereum:{usdc.address}@{CHAIN_ID}/transfer"
        f"?address={pr.receiving_address}&amp;uint256=27500123"
    )
    assert uri in html
    assert "Pay with browser wallet" in html
    assert 'id="pay-proof"' in html
    pr.refresh_from_db()
    assert pr.status == PR.Status.OPENED
    assert pr.opened_at is not None


def test_second_view_keeps_the_first_opened_at(client, pr):
    client.get(page(pr))
    pr.refresh_from_db()
    first = pr.opened_at
    client.get(page(pr))
    pr.refresh_from_db()
    assert pr.opened_at == first


def test_page_lists_only_usable_chains_of_the_request_mode(
    client, pr, make_request, seeded_chains
):
    # Seeded mainnets/testnets have no RPC URLs: not offered (D19).
    Chain.objects.filter(pk=11155111).update(rpc_urls=["https://sepolia.example"])
    html = client.get(page(pr)).content.decode()
    assert "Local anvil" in html
    assert "Sepolia" in html
    assert "Polygon" not in html

    live = make_request(test_mode=False)
    live_html = client.get(page(live)).content.decode()
    assert "Local anvil" not in live_html
    assert "Payments are not available yet" in live_html


@pytest.mark.parametrize(
    "logo", ["http://cdn.example/alice.png", "ftp://cdn.example/alice.png"]
)
def test_a_logo_the_policy_would_block_is_not_drawn(
    client, local_chain, make_request, partner, logo
):
    # The admin's URL field takes http and ftp; the page's img-src takes https
    # only, so every page and receipt of the partner showed a broken image
    # (and a policy violation) next to its name. The name alone is shown.
    partner.logo_url = logo
    partner.save()
    paid = make_request(
        status=PR.Status.PAID,
        proof_status=PR.ProofStatus.VERIFIED,
        chain_id=CHAIN_ID,
        tx_hash=HASH,
        verified_at=timezone.now(),
    )
    for url in (page(make_request()), page(paid), page(paid, "/receipt")):
        html = client.get(url).content.decode()
        assert "pay-logo" not in html, url
        assert partner.name in html


def test_a_stored_bidi_override_in_the_partners_name_is_not_shown(
    client, local_chain, make_request, partner
):
    # D22: the admin refuses such a name now; one stored before would turn
    # the text after it around on every page and receipt ("Payments by …").
    Partner.objects.filter(pk=partner.pk).update(name="Acme\u202eetyb")
    paid = make_request(
        status=PR.Status.PAID,
        proof_status=PR.ProofStatus.VERIFIED,
        chain_id=CHAIN_ID,
        tx_hash=HASH,
        verified_at=timezone.now(),
    )
    for url in (page(make_request()), page(paid, "/receipt")):
        html = client.get(url).content.decode()
        assert "\u202e" not in html, url
        assert "Acmeetyb" in html


@pytest.mark.parametrize(
    "bad_id", ["8c9d1b48-975d-4fcb-a135-5a51ecf6e904", "not-a-uuid"]
)
def test_unknown_link_is_a_friendly_404_page(client, db, bad_id):
    response = client.get(f"/pay/{bad_id}")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert "Payment link not found" in response.content.decode()


@pytest.mark.parametrize(
    ("fields", "text"),
    [
        ({"status": PR.Status.CANCELLED}, "was cancelled"),
        (
            {"status": PR.Status.EXPIRED, "expires_in": -timedelta(hours=1)},
            "has expired",
        ),
    ],
)
def test_closed_requests_offer_no_way_to_pay(
    client, local_chain, make_request, fields, text
):
    html = client.get(page(make_request(**fields))).content.decode()
    assert text in html
    assert "Pay with browser wallet" not in html
    assert 'id="pay-proof"' not in html


def test_expired_request_within_grace_still_takes_a_hash_but_not_a_payment(
    client, local_chain, make_request
):
    pr = make_request(status=PR.Status.EXPIRED, expires_in=-timedelta(minutes=3))
    html = client.get(page(pr)).content.decode()
    assert 'id="pay-proof"' in html
    assert "Pay with browser wallet" not in html


# --- GET /pay/<id>/status -----------------------------------------------------


def test_status_json(client, pr):
    response = client.get(page(pr, "/status"))
    assert response.status_code == 200
    assert response.json() == {
        "ok": True,
        "status": "requested",
        "proof_status": "none",
        "mismatch_reason": None,
        "tx_hash": None,
    }


def test_status_of_unknown_request_is_not_found_json(client, db):
    response = client.get(f"/pay/{uuid.uuid4()}/status")
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


# --- POST /pay/<id>/proof -----------------------------------------------------


def test_proof_json_is_202_attached_with_an_event(client, pr):
    response = post_proof(client, pr, {"tx_hash": HASH, "chain_id": CHAIN_ID})

    assert response.status_code == 202
    assert response.json() == {"ok": True, "proof_status": "attached"}
    pr.refresh_from_db()
    assert (pr.proof_status, pr.proof_source, pr.tx_hash) == (
        "attached",
        "customer",
        HASH,
    )
    assert (
        WebhookEvent.objects.filter(
            request_id=pr.pk, type="payment.proof_attached"
        ).count()
        == 1
    )
    status = client.get(page(pr, "/status")).json()
    assert (status["proof_status"], status["tx_hash"]) == ("attached", HASH)


def test_proof_as_a_form_post(client, pr):
    response = client.post(
        page(pr, "/proof"), {"tx_hash": HASH, "chain_id": str(CHAIN_ID)}
    )
    assert response.status_code == 202


def test_proof_needs_no_csrf_token(pr):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    response = post_proof(strict, pr, {"tx_hash": HASH, "chain_id": CHAIN_ID})
    assert response.status_code == 202


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"tx_hash": "0x12", "chain_id": CHAIN_ID}, 400, "invalid_tx_hash"),
        ({"chain_id": CHAIN_ID}, 400, "invalid_tx_hash"),
        ({"tx_hash": HASH, "chain_id": 137}, 400, "unsupported_chain"),
        ({"tx_hash": HASH, "chain_id": "eth"}, 400, "unsupported_chain"),
        ({"tx_hash": HASH}, 400, "invalid_request"),
    ],
)
def test_proof_errors_use_registry_codes(client, pr, body, status, code):
    response = post_proof(client, pr, body)
    assert response.status_code == status
    assert response.json()["ok"] is False
    assert response.json()["error"] == code
    pr.refresh_from_db()
    assert pr.proof_status == "none"


def test_missing_chain_id_names_the_field(client, pr):
    assert post_proof(client, pr, {"tx_hash": HASH}).json()["field"] == "chain_id"


@pytest.mark.parametrize("raw", ["[1, 2]", "not json", ""])
def test_proof_body_that_is_not_a_json_object(client, pr, raw):
    response = client.post(page(pr, "/proof"), raw, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_body"


def test_reused_hash_on_another_request_is_409_proof_already_used(
    client, pr, make_request, w3, usdc
):
    tx = send_token(
        w3, usdc, payer=PAYERS[0], to=pr.receiving_address, value=27_500_123
    )
    assert (
        post_proof(client, pr, {"tx_hash": tx, "chain_id": CHAIN_ID}).status_code == 202
    )
    other = make_request()

    response = post_proof(client, other, {"tx_hash": tx, "chain_id": CHAIN_ID})

    assert response.status_code == 409
    assert response.json()["error"] == "proof_already_used"
    # Verified, the hash stays taken.
    assert proof_verify(request_id=pr.pk).outcome == "verified"
    again = post_proof(client, other, {"tx_hash": tx, "chain_id": CHAIN_ID})
    assert again.json()["error"] == "proof_already_used"


def test_cancelled_request_refuses_proofs_with_409(client, local_chain, make_request):
    pr = make_request(status=PR.Status.CANCELLED, cancelled_at=timezone.now())
    response = post_proof(client, pr, {"tx_hash": HASH, "chain_id": CHAIN_ID})
    assert response.status_code == 409
    assert response.json()["error"] == "proof_not_accepted"


def test_proof_for_unknown_request_is_not_found(client, db):
    response = client.post(
        f"/pay/{uuid.uuid4()}/proof",
        {"tx_hash": HASH, "chain_id": 1},
        content_type="application/json",
    )
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"


def test_get_on_the_proof_endpoint_is_405_json(client, pr):
    response = client.get(page(pr, "/proof"))
    assert response.status_code == 405
    assert response.json()["error"] == "method_not_allowed"


# --- GET /pay/<id>/receipt ----------------------------------------------------


def test_receipt_only_after_verification(client, pr, w3, usdc):
    assert client.get(page(pr, "/receipt")).status_code == 404
    tx = send_token(
        w3, usdc, payer=PAYERS[1], to=pr.receiving_address, value=27_600_123
    )
    proof_attach(request=pr, chain_id=CHAIN_ID, tx_hash=tx, source="customer")
    assert client.get(page(pr, "/receipt")).status_code == 404  # attached is not paid
    assert proof_verify(request_id=pr.pk).outcome == "verified"

    response = client.get(page(pr, "/receipt"))

    assert response.status_code == 200
    html = response.content.decode()
    assert pr.merchant.business_name in html
    assert "25.00 EUR" in html
    assert "27.600123 USDC" in html  # what was sent (overpaid by 0.1)
    assert "27.500123" in html  # and what was asked
    assert pr.reference in html
    assert tx in html
    assert PAYERS[1] in html
    assert "Back to shop" in html
    assert "https://shop.example/thanks" in html
    assert "data-print" in html  # the Print button (static/js/jopay.js, no inline JS)
    # A testnet payment's receipt says so, like its pay page; a live one does not.
    assert 'data-testid="test-mode"' in html
    assert "<title>[Test] Receipt" in html
    PaymentRequest.objects.filter(pk=pr.pk).update(test_mode=False)
    assert (
        'data-testid="test-mode"'
        not in client.get(page(pr, "/receipt")).content.decode()
    )


def test_pay_pages_are_never_served_from_a_cache(client, pr, w3, usdc):
    """A cached copy of the page restarts its countdown from the time baked
    into it and re-opens the send UI after expiry; the status and receipt
    must be as fresh."""
    tx = send_token(
        w3, usdc, payer=PAYERS[1], to=pr.receiving_address, value=27_500_123
    )
    proof_attach(request=pr, chain_id=CHAIN_ID, tx_hash=tx, source="customer")
    assert proof_verify(request_id=pr.pk).outcome == "verified"
    for suffix in ("", "/status", "/receipt"):
        response = client.get(page(pr, suffix))
        assert response.status_code == 200, suffix
        assert "no-store" in response["Cache-Control"], suffix


def test_receipt_links_the_explorer_when_the_chain_has_one(client, pr, w3, usdc):
    Chain.objects.filter(pk=CHAIN_ID).update(
        explorer_tx_url="https://scan.example/tx/{tx}"
    )
    tx = send_token(
        w3, usdc, payer=PAYERS[1], to=pr.receiving_address, value=27_500_123
    )
    proof_attach(request=pr, chain_id=CHAIN_ID, tx_hash=tx, source="customer")
    proof_verify(request_id=pr.pk)

    html = client.get(page(pr, "/receipt")).content.decode()

    assert f'href="https://scan.example/tx/{tx}"' in html


def test_verified_page_shows_paid_state_receipt_and_back_to_shop(client, pr, w3, usdc):
    tx = send_token(
        w3, usdc, payer=PAYERS[1], to=pr.receiving_address, value=27_500_123
    )
    proof_attach(request=pr, chain_id=CHAIN_ID, tx_hash=tx, source="customer")
    proof_verify(request_id=pr.pk)

    html = client.get(page(pr)).content.decode()

    assert "Payment received" in html
    assert f"/pay/{pr.pk}/receipt" in html
    assert 'href="https://shop.example/thanks"' in html
    assert "Pay with browser wallet" not in html


def test_an_overpaid_page_says_what_arrived(client, pr, w3, usdc):
    # D20 accepts more; the page said the requested 27.500123 had arrived.
    tx = send_token(
        w3, usdc, payer=PAYERS[1], to=pr.receiving_address, value=30_000_000
    )
    proof_attach(request=pr, chain_id=CHAIN_ID, tx_hash=tx, source="customer")
    proof_verify(request_id=pr.pk)
    html = client.get(page(pr)).content.decode()
    assert "has received 30.000000 USDC" in html


def test_the_script_gets_the_amount_as_exact_text(client, pr):
    # The wallet prompt printed Number(usdc_micro) / 1e6: float past 2**53.
    html = client.get(page(pr)).content.decode()
    assert '"usdc_text": "27.500123"' in html


# --- rate limits (D27) --------------------------------------------------------


def test_proof_submissions_are_limited_to_10_per_hour_per_request(
    client, pr, frozen_clock
):
    # Well-formed ones (junk does not use up the request's counter, see
    # test_pay_page_states.py); the same hash again is an idempotent 202.
    codes = [
        post_proof(client, pr, {"tx_hash": HASH, "chain_id": CHAIN_ID}).status_code
        for _ in range(11)
    ]
    assert codes == [202] * 10 + [429]
    last = post_proof(client, pr, {"tx_hash": HASH, "chain_id": CHAIN_ID})
    assert last.json()["error"] == "rate_limited"
    assert int(last["Retry-After"]) > 0


def test_page_views_are_limited_to_60_per_minute_per_ip_with_an_html_429(
    client, pr, frozen_clock
):
    for _ in range(60):
        assert client.get(page(pr), REMOTE_ADDR="10.0.0.1").status_code == 200
    limited = client.get(page(pr), REMOTE_ADDR="10.0.0.1")
    assert limited.status_code == 429
    assert limited["Content-Type"].startswith("text/html")
    assert "Too many requests" in limited.content.decode()
    assert int(limited["Retry-After"]) > 0
    # Another address has its own window.
    assert client.get(page(pr), REMOTE_ADDR="10.0.0.2").status_code == 200


def test_status_polls_are_limited_to_120_per_minute(client, pr, frozen_clock):
    for _ in range(120):
        client.get(page(pr, "/status"), REMOTE_ADDR="10.0.0.3")
    limited = client.get(page(pr, "/status"), REMOTE_ADDR="10.0.0.3")
    assert limited.status_code == 429
    assert limited.json()["error"] == "rate_limited"


def test_missing_remote_addr_never_crashes(pr):
    factory = RequestFactory()
    requests = [
        (pay_page, factory.get(page(pr))),
        (pay_status, factory.get(page(pr, "/status"))),
        (
            pay_proof,
            factory.post(
                page(pr, "/proof"),
                {"tx_hash": HASH, "chain_id": CHAIN_ID},
                content_type="application/json",
            ),
        ),
    ]
    statuses = []
    for view, request in requests:
        del request.META["REMOTE_ADDR"]
        statuses.append(view(request, str(pr.pk)).status_code)
    assert statuses == [200, 200, 202]


def test_text_stored_before_the_rule_is_shown_without_bidi_overrides(
    client, pr, w3, usdc
):
    """Memos and merchant names are refused with a bidi override or a control
    character since 1951b83 (D22); rows stored before it are not rewritten,
    but the pay page and the receipt show them without those characters,
    keeping the memo's line breaks."""
    from merchants.models import Merchant

    PaymentRequest.objects.filter(pk=pr.pk).update(
        memo="Refund to \u202e0xdead\u202c\r\nline 2\x07"
    )
    Merchant.objects.filter(pk=pr.merchant_id).update(business_name="Shop\u202eX")
    html = client.get(page(pr)).content.decode()
    assert "\u202e" not in html
    assert "\x07" not in html
    assert "Refund to 0xdead\r\nline 2" in html
    assert 'Pay <strong class="merchant">ShopX</strong>' in html

    tx = send_token(
        w3, usdc, payer=PAYERS[1], to=pr.receiving_address, value=27_500_123
    )
    proof_attach(request=pr, chain_id=CHAIN_ID, tx_hash=tx, source="customer")
    assert proof_verify(request_id=pr.pk).outcome == "verified"
    receipt = client.get(page(pr, "/receipt")).content.decode()
    assert "\u202e" not in receipt
    assert "ShopX" in receipt
    assert "Refund to 0xdead" in receipt
