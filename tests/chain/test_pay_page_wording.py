"""What the server-rendered pay page says in each state (D16, D18, D22): only an
open page asks for funds, only a page that takes a hash invites another one, each
state's badge has its own look, and a page being checked refreshes itself."""

from __future__ import annotations

import pathlib
import re
from datetime import timedelta

import pytest
from django.utils import timezone

from payments.models import PaymentRequest

from .conftest import CHAIN_ID

pytestmark = pytest.mark.chain

PR = PaymentRequest
HASH = "0x" + "5a" * 32
REFRESH = '<noscript><meta http-equiv="refresh" content="15"></noscript>'

# make_request fields for each page state (presenters.page_state).
STATES = {
    "open": {},
    "grace": {"status": PR.Status.EXPIRED, "expires_in": -timedelta(minutes=2)},
    "closed": {"status": PR.Status.EXPIRED, "expires_in": -timedelta(hours=1)},
    "cancelled": {"status": PR.Status.CANCELLED},
    "verifying": {
        "proof_status": PR.ProofStatus.ATTACHED,
        "tx_hash": HASH,
        "chain_id": CHAIN_ID,
    },
    "paid": {
        "status": PR.Status.PAID,
        "proof_status": PR.ProofStatus.VERIFIED,
        "tx_hash": HASH,
        "chain_id": CHAIN_ID,
    },
}


def html_of(client, pr) -> str:
    return client.get(f"/pay/{pr.pk}").content.decode()


def usdc_line(html: str) -> str:
    match = re.search(r'<div class="usdc-line"[^>]*>(.*?)</div>', html, re.S)
    assert match, "the summary shows the USDC amount"
    return match.group(1)


# --- the call to pay (bug 1) ------------------------------------------------------


def test_an_open_page_asks_for_the_exact_amount_with_a_copy_button(
    client, local_chain, make_request
):
    pr = make_request(usdc_micro=25_000_123)
    line = usdc_line(html_of(client, pr))
    assert "Send exactly" in line
    assert 'data-copy="25.000123"' in line


@pytest.mark.parametrize("state", ["grace", "closed", "cancelled", "verifying", "paid"])
def test_no_other_page_asks_for_funds(client, local_chain, make_request, state):
    pr = make_request(usdc_micro=25_000_123, **STATES[state])
    html = html_of(client, pr)

    line = usdc_line(html)
    assert "Send exactly" not in html
    assert "data-copy" not in line
    assert re.sub(r"<[^>]+>|\s+", " ", line).split() == ["Amount:", "25.000123", "USDC"]


# --- "You can submit another one" (bug 2) -------------------------------------------


def _with_mismatch(make_request, reason="wrong_recipient", **fields):
    return make_request(
        proof_status=PR.ProofStatus.MISMATCH,
        mismatch_reason=reason,
        tx_hash=HASH,
        chain_id=CHAIN_ID,
        **fields,
    )


def test_a_cancelled_request_with_a_mismatch_invites_no_other_hash(
    client, local_chain, make_request
):
    pr = _with_mismatch(
        make_request, status=PR.Status.CANCELLED, cancelled_at=timezone.now()
    )
    html = html_of(client, pr)
    assert "did not match this request" in html
    assert "was cancelled" in html
    assert "You can submit another one" not in html
    assert 'id="pay-proof"' not in html


@pytest.mark.parametrize("state", ["open", "grace"])
def test_a_page_that_takes_a_hash_invites_another_after_a_mismatch(
    client, local_chain, make_request, state
):
    html = html_of(client, _with_mismatch(make_request, **STATES[state]))
    assert "You can submit another one." in html
    assert 'id="pay-proof"' in html


@pytest.mark.parametrize("state", ["open", "grace", "closed"])
def test_an_underpayment_sends_the_customer_to_the_merchant_not_to_pay_again(
    client, local_chain, make_request, state
):
    # The smaller transfer reached the merchant's wallet; "Send exactly … You
    # can submit another one" had the customer pay the full amount a second time.
    html = html_of(client, _with_mismatch(make_request, "underpaid", **STATES[state]))
    assert "sent less than this request asks for" in html
    assert "Please contact" in html
    assert "You can submit another one" not in html


@pytest.mark.parametrize(
    ("reason", "text"),
    [
        ("wrong_recipient", "the USDC went to another address or paid another request"),
        ("tx_failed", "the transaction failed on-chain"),
        ("wrong_token", "it did not transfer USDC"),
        ("late", "it was not sent while this request was open for payment"),
    ],
)
def test_a_mismatch_is_said_in_words_not_codes(
    client, local_chain, make_request, reason, text
):
    html = html_of(client, _with_mismatch(make_request, reason))
    assert f"did not match this request: {text}." in html
    assert "(Wrong Recipient)" not in html
    assert "(Tx Failed)" not in html


def _js_object(path: str, name: str) -> dict[str, str]:
    from django.contrib.staticfiles import finders

    script = pathlib.Path(finders.find(path)).read_text(encoding="utf-8")
    body = re.search(rf"var {name} = \{{(.*?)\}};", script, re.S).group(1)
    return dict(re.findall(r'(\w+): "([^"]*)"', body))


def test_the_server_and_the_script_use_the_same_words():
    # The script draws some of these messages itself (static/pay/words.js);
    # the two lists must not drift.
    from payments.pay.presenters import (
        MISMATCH_TEXT,
        PROOF_ERROR_TEXT,
        RATE_LIMITED_WAIT_TEXT,
    )

    reasons = _js_object("pay/words.js", "REASONS")
    assert reasons == {str(k): v for k, v in MISMATCH_TEXT.items()}
    assert _js_object("pay/words.js", "ERRORS") == PROOF_ERROR_TEXT
    notes = _js_object("pay/words.js", "NOTES")
    assert notes["rate_limited_wait"] == RATE_LIMITED_WAIT_TEXT


def test_the_server_and_the_script_mark_the_same_field_invalid():
    # A refused hash marks its field aria-invalid: the no-script page from the
    # server's list, the script from its own (fields.js INVALID_FIELD).
    from payments.pay.presenters import PROOF_ERROR_FIELD, PROOF_ERROR_TEXT

    assert _js_object("pay/fields.js", "INVALID_FIELD") == PROOF_ERROR_FIELD
    assert set(PROOF_ERROR_FIELD) <= set(PROOF_ERROR_TEXT)


# --- the badge's look (bug 3, server side; the colours are in test_pay_page_look) ----


@pytest.mark.parametrize(
    ("state", "classes"),
    [
        ("open", "badge open"),
        ("grace", "badge grace bad"),
        ("closed", "badge closed bad"),
        ("cancelled", "badge cancelled bad"),
        ("verifying", "badge verifying warn"),
        ("paid", "badge paid ok"),
    ],
)
def test_each_state_badge_has_a_look(client, local_chain, make_request, state, classes):
    html = html_of(client, make_request(**STATES[state]))
    assert f'id="pay-status" class="{classes}"' in html


# --- without a script (bug 4) ------------------------------------------------------


def test_a_page_being_checked_refreshes_itself_without_a_script(
    client, local_chain, make_request
):
    assert REFRESH in html_of(client, make_request(**STATES["verifying"]))


@pytest.mark.parametrize("state", ["open", "grace", "closed", "cancelled", "paid"])
def test_other_pages_do_not_refresh_themselves(
    client, local_chain, make_request, state
):
    assert 'http-equiv="refresh"' not in html_of(client, make_request(**STATES[state]))


def test_a_past_deadline_is_never_labelled_pay_before(
    client, local_chain, make_request
):
    # Checked after expiry: not closed by the expiry task (D16), deadline past.
    pr = make_request(expires_in=-timedelta(minutes=30), **STATES["verifying"])
    html = html_of(client, pr)
    assert "Pay before" not in html
    assert '<dt id="pay-deadline-label">Expired</dt>' in html


def test_a_future_deadline_is_labelled_pay_before_also_while_checking(
    client, local_chain, make_request
):
    html = html_of(client, make_request(**STATES["verifying"]))
    assert '<dt id="pay-deadline-label">Pay before</dt>' in html


def test_the_no_script_form_speaks_the_customers_words(
    client, local_chain, make_request
):
    pr = make_request(**STATES["closed"])
    html = client.get(f"/pay/{pr.pk}?proof_error=invalid_tx_hash").content.decode()
    assert "That is not a transaction hash (0x followed by 64 hex characters)." in html
    assert "tx_hash must be" not in html


def test_a_paid_page_shows_no_stale_proof_error(client, local_chain, make_request):
    # A stale no-script form posted after the watcher had paid the request.
    pr = make_request(**STATES["paid"])
    html = client.get(f"/pay/{pr.pk}?proof_error=proof_not_accepted").content.decode()
    assert "Payment received" in html
    assert "no longer accepts" not in html


def test_a_screen_reader_can_tell_the_controls_apart(client, local_chain, make_request):
    # Two buttons both named "Copy", two selects both "Network", an unnamed QR
    # image and a silent wallet note.
    html = html_of(client, make_request())
    assert 'aria-label="Copy the amount"' in html
    assert 'aria-label="Copy the recipient address"' in html
    assert ">Network to pay on</label>" in html
    assert ">Network it was paid on</label>" in html
    assert re.search(r'class="qr"[^>]*role="img"[^>]*aria-label="QR code to pay', html)
    assert re.search(r'id="wallet-note"[^>]*aria-live="polite"', html)
