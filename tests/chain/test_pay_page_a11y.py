"""The pay page for assistive technology (D22): one h1 that looks as the line it
replaced, a refused field marked invalid and pointed at its error until it is
corrected, and the request's expiry announced when the page changes by itself."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from payments.models import PaymentRequest
from payments.models.requests import PROOF_GRACE
from payments.proofs.services import proof_attach

from .conftest import CHAIN_ID, PAYERS
from .pay_browser import install_wallet
from .test_pay_page_wording import HASH, STATES  # the six page states

pytestmark = pytest.mark.chain

PR = PaymentRequest
MUTED = "rgb(94, 110, 132)"  # --muted in static/css/jopay.css
INVALID = 'aria-invalid="true" aria-describedby="proof-error"'


def html_of(client, pr, query: str = "") -> str:
    return client.get(f"/pay/{pr.pk}{query}").content.decode()


def tag(html: str, element_id: str) -> str:
    match = re.search(rf'<[a-z]+ [^>]*id="{element_id}"[^>]*>', html)
    assert match, element_id
    return match.group(0)


# --- server-rendered ------------------------------------------------------------


@pytest.mark.parametrize("state", list(STATES))
def test_every_page_has_one_h1_naming_the_merchant(
    client, local_chain, make_request, state
):
    pr = make_request(**STATES[state])
    html = html_of(client, pr)
    h1s = re.findall(r"<h1\b[^>]*>(.*?)</h1>", html, re.S)
    assert h1s == [f'Pay <strong class="merchant">{pr.merchant.name}</strong>']


@pytest.mark.parametrize(
    ("code", "field"),
    [("invalid_tx_hash", "proof-hash"), ("unsupported_chain", "proof-chain")],
)
def test_the_no_script_form_marks_the_refused_field(
    client, local_chain, make_request, code, field
):
    pr = make_request()
    html = html_of(client, pr, f"?proof_error={code}")
    assert INVALID in tag(html, field)
    other = {"proof-hash": "proof-chain", "proof-chain": "proof-hash"}[field]
    assert "aria-invalid" not in tag(html, other)


@pytest.mark.parametrize("query", ["", "?proof_error=rate_limited", "?proof_error=x"])
def test_no_field_is_marked_without_a_refusal_about_it(
    client, local_chain, make_request, query
):
    html = html_of(client, make_request(), query)
    assert "aria-invalid" not in html


# --- in a browser -------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_h1_looks_as_the_muted_line_it_replaced(
    live_server, page, local_chain, make_request
):
    page.goto(f"{live_server.url}/pay/{make_request().pk}")
    heading = page.get_by_role("heading", level=1)
    expect(heading).to_have_accessible_name(re.compile(r"^Pay "))
    look = heading.evaluate(
        "e => { const s = getComputedStyle(e); return [s.fontSize, s.fontWeight,"
        " s.color, s.marginTop, s.marginBottom, e.getBoundingClientRect().height]; }"
    )
    # Body text size and weight, muted, no margin, one 24 px line (as the div).
    assert look == ["16px", "400", MUTED, "0px", "0px", 24]


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_refused_hash_is_marked_invalid_until_corrected(
    live_server, page, local_chain, make_request
):
    pr = make_request()
    taken = make_request()
    proof_attach(
        request=taken, chain_id=CHAIN_ID, tx_hash=HASH, source="merchant", enqueue=False
    )
    page.goto(f"{live_server.url}/pay/{pr.pk}")
    field = page.get_by_test_id("tx-hash")
    error = page.get_by_test_id("proof-error")
    submit = page.get_by_role("button", name="Submit transaction")
    expect(field).not_to_have_attribute("aria-invalid", "true")

    # Malformed: marked, described by its error; still marked while still wrong.
    field.fill("0x12")
    submit.click()
    expect(error).to_have_text(re.compile("That is not a transaction hash"))
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_accessible_description(re.compile("not a transaction hash"))
    field.fill("0x123")
    expect(field).to_have_attribute("aria-invalid", "true")
    # Well-formed now: no longer marked, the stale error gone.
    field.fill(HASH)
    expect(field).not_to_have_attribute("aria-invalid", "true")
    expect(field).not_to_have_attribute("aria-describedby", "proof-error")
    expect(error).to_have_text("")

    # Another request's hash: marked until the value changes.
    submit.click()
    expect(error).to_have_text("That transaction already paid another request.")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(field).to_have_accessible_description(re.compile("already paid another"))
    field.fill("0x" + "70" * 32)
    expect(field).not_to_have_attribute("aria-invalid", "true")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_no_script_marking_clears_when_corrected_with_the_script(
    live_server, page, local_chain, make_request
):
    pr = make_request()
    page.goto(f"{live_server.url}/pay/{pr.pk}?proof_error=invalid_tx_hash")
    field = page.get_by_test_id("tx-hash")
    expect(field).to_have_attribute("aria-invalid", "true")
    field.fill(HASH)
    expect(field).not_to_have_attribute("aria-invalid", "true")
    expect(page.get_by_test_id("proof-error")).to_have_text("")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_expiry_is_announced_when_the_send_card_goes_away(
    live_server, page, local_chain, make_request
):
    pr = make_request(expires_in=timedelta(seconds=5))
    page.goto(f"{live_server.url}/pay/{pr.pk}")
    announce = page.get_by_test_id("announce")
    expect(announce).to_have_attribute("role", "status")
    expect(announce).to_have_attribute("aria-live", "polite")
    expect(page.get_by_test_id("send-card")).to_be_visible()
    expect(announce).to_have_text("")

    expect(page.get_by_test_id("send-card")).to_be_hidden(timeout=10_000)
    expect(announce).to_have_text(
        "This payment request has expired. Please do not send funds now. If you"
        " paid before it expired, you can still submit the transaction hash."
    )


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_end_of_the_grace_is_announced_but_not_a_page_loaded_expired(
    live_server, page, local_chain, make_request
):
    pr = make_request(
        status=PR.Status.EXPIRED, expires_in=-(PROOF_GRACE - timedelta(seconds=5))
    )
    page.goto(f"{live_server.url}/pay/{pr.pk}")
    announce = page.get_by_test_id("announce")
    expect(page.get_by_test_id("grace-note")).to_be_visible()
    expect(announce).to_have_text("")  # it already reads as expired

    expect(page.get_by_test_id("closed")).to_be_visible(timeout=10_000)
    expect(announce).to_have_text(
        "This payment request has expired. Please do not send funds."
    )


def test_a_copy_button_tells_a_screen_reader_it_copied(
    live_server, browser, local_chain, make_request
):
    # Its aria-label ("Copy the amount") hid the "Copied" it shows from
    # assistive technology: a screen reader never heard whether it worked.
    pr = make_request(usdc_micro=1_234_567_891_234)
    context = browser.new_context(permissions=["clipboard-read", "clipboard-write"])
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/pay/{pr.pk}")
        page.get_by_role("button", name="Copy the amount").click()
        button = page.locator("#pay-usdc-copy")
        expect(button).to_have_text("Copied")
        expect(button).to_have_accessible_name("Copied")
        assert page.evaluate("navigator.clipboard.readText()") == "1234567.891234"
        # Then back to its name.
        expect(button).to_have_accessible_name("Copy the amount")
        expect(button).to_have_text("Copy")
    finally:
        context.close()


def test_a_keyboard_user_is_not_dropped_when_the_hash_card_goes_away(
    live_server, page, local_chain, make_request
):
    # The hash form's card hides once the hash is taken: the focus was on its
    # button and fell back to the page's start, with nothing near it to read.
    pr = make_request()
    page.goto(f"{live_server.url}/pay/{pr.pk}")
    page.get_by_label("Transaction hash").focus()
    page.keyboard.type(HASH)
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("status")).to_have_text("Verifying payment…")
    expect(page.get_by_test_id("proof-card")).to_be_hidden()
    expect(page.get_by_test_id("message")).to_be_focused()
    expect(page.get_by_test_id("message")).to_contain_text("Checking it on-chain")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("control", ["submit-button", "wallet-button"])
def test_a_keyboard_user_on_the_pressed_button_is_not_dropped_either(
    live_server, page, anvil, local_chain, make_request, control
):
    # The pressed button is disabled while its post runs, which takes the
    # focus off it at once: by the time the card hid, it was on the page's
    # body, and the page left it there (back to the very top for a keyboard
    # or screen reader user, with nothing near it to read).
    pr = make_request()
    install_wallet(page, anvil, PAYERS[0])
    page.goto(f"{live_server.url}/pay/{pr.pk}")
    if control == "submit-button":
        page.get_by_label("Transaction hash").fill(HASH)
        button = page.get_by_role("button", name="Submit transaction")
    else:
        button = page.get_by_test_id("pay-wallet")
    button.focus()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("status")).to_have_text("Verifying payment…")
    expect(page.get_by_test_id("message")).to_be_focused()
    expect(page.get_by_test_id("message")).to_contain_text("Checking it on-chain")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_refused_hash_leaves_the_keyboard_user_at_the_form(
    live_server, page, local_chain, make_request
):
    # The button, disabled for the post, had lost the focus to the body, and
    # the refusal left it there: the user tabbed through the page from the top
    # to reach the field the error is about.
    pr = make_request()
    page.goto(f"{live_server.url}/pay/{pr.pk}")
    page.get_by_label("Transaction hash").fill("0x1234")
    page.get_by_role("button", name="Submit transaction").focus()
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("proof-error")).to_contain_text("not a transaction hash")
    expect(page.get_by_label("Transaction hash")).to_be_focused()
