"""The proof endpoint for a browser running no script, and the pay routes' own
answers to odd requests (D32): a plain form post goes back to the page (303), JSON
callers keep D32's JSON, and the JSON routes never answer Django's HTML."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

import pytest
import time_machine
from django.test import Client
from django.utils import timezone
from django.utils.html import escape

from jopay_project.errors import ErrorCode
from payments.models import PaymentRequest
from payments.pay.presenters import PROOF_ERROR_TEXT, wait_in_words
from payments.proofs.services import proof_attach

from .conftest import CHAIN_ID

pytestmark = pytest.mark.chain

PR = PaymentRequest
HASH = "0x" + "5a" * 32
BROWSER_ACCEPT = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


def form_post(client, pr, body, accept=BROWSER_ACCEPT, **extra):
    return client.post(f"/pay/{pr.pk}/proof", body, HTTP_ACCEPT=accept, **extra)


# --- bug 4: a browser without a script lands on the page, not on JSON ---------------


def test_a_taken_hash_sends_the_browser_back_to_the_page(
    client, local_chain, make_request
):
    pr = make_request()
    response = form_post(client, pr, {"tx_hash": HASH, "chain_id": str(CHAIN_ID)})

    assert response.status_code == 303
    assert response["Location"] == f"/pay/{pr.pk}"
    pr.refresh_from_db()
    assert (pr.proof_status, pr.tx_hash) == ("attached", HASH)
    page = client.get(response["Location"]).content.decode()
    assert "checking it on-chain" in page


def test_an_urlencoded_form_is_a_form_too(client, local_chain, make_request):
    # What a browser sends (the test client's own default is multipart).
    pr = make_request()
    response = client.post(
        f"/pay/{pr.pk}/proof",
        urlencode({"tx_hash": HASH, "chain_id": CHAIN_ID}),
        content_type="application/x-www-form-urlencoded",
        HTTP_ACCEPT=BROWSER_ACCEPT,
    )
    assert (response.status_code, response["Location"]) == (303, f"/pay/{pr.pk}")


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"tx_hash": "0x12", "chain_id": str(CHAIN_ID)}, "invalid_tx_hash"),
        ({"tx_hash": HASH, "chain_id": "137"}, "unsupported_chain"),
    ],
)
def test_a_refused_hash_comes_back_with_its_message(
    client, local_chain, make_request, body, code
):
    pr = make_request()
    response = form_post(client, pr, body)

    assert response.status_code == 303
    assert response["Location"] == f"/pay/{pr.pk}?proof_error={code}"
    page = client.get(response["Location"]).content.decode()
    message = PROOF_ERROR_TEXT[code]  # the customer's words, not the API's
    assert f'data-testid="proof-error">{message}</p>' in page


def test_a_refusal_without_a_form_on_the_page_is_shown_above(
    client, local_chain, make_request
):
    pr = make_request(status=PR.Status.CANCELLED, cancelled_at=timezone.now())
    response = form_post(client, pr, {"tx_hash": HASH, "chain_id": str(CHAIN_ID)})

    assert response["Location"] == f"/pay/{pr.pk}?proof_error=proof_not_accepted"
    page = client.get(response["Location"]).content.decode()
    assert PROOF_ERROR_TEXT["proof_not_accepted"] in page
    assert 'data-testid="proof-result"' in page


def test_a_second_hash_while_one_is_checked_just_shows_the_check(
    client, local_chain, make_request
):
    pr = make_request()
    proof_attach(
        request=pr, chain_id=CHAIN_ID, tx_hash=HASH, source="merchant", enqueue=False
    )
    response = form_post(
        client, pr, {"tx_hash": "0x" + "6b" * 32, "chain_id": str(CHAIN_ID)}
    )
    # Not "no longer accepts proofs": the page says the first one is being checked.
    assert (response.status_code, response["Location"]) == (303, f"/pay/{pr.pk}")


def test_an_old_refusal_is_not_shown_while_a_proof_is_checked(
    client, local_chain, make_request
):
    # A no-script customer's malformed hash comes back as ?proof_error=…; then
    # the watcher attaches their real payment. The verifying page (which
    # refreshes itself at that same URL) kept the red "That is not a
    # transaction hash" alert above the check until the verdict.
    pr = make_request()
    response = form_post(client, pr, {"tx_hash": "0x12", "chain_id": str(CHAIN_ID)})
    assert response["Location"] == f"/pay/{pr.pk}?proof_error=invalid_tx_hash"
    proof_attach(
        request=pr,
        chain_id=CHAIN_ID,
        tx_hash=HASH,
        source="trails_on_chain",
        enqueue=False,
    )
    page = client.get(response["Location"]).content.decode()
    assert "Verifying payment" in page
    assert "proof-result" not in page
    assert PROOF_ERROR_TEXT["invalid_tx_hash"] not in page


@pytest.mark.parametrize(
    "query",
    [
        "proof_error=nope",
        "proof_error=<script>alert(1)</script>",
        "",
        # Registry codes the proof form never answers: a crafted link showed
        # their fixed messages on the merchant's page ("merchant not ready").
        "proof_error=merchant_not_ready",
        "proof_error=fx_unavailable",
        "proof_error=auth_failed",
    ],
)
def test_unknown_proof_error_codes_say_nothing(
    client, local_chain, make_request, query
):
    pr = make_request()
    page = client.get(f"/pay/{pr.pk}?{query}").content.decode()
    assert 'data-testid="proof-error"></p>' in page
    assert "<script>alert" not in page
    assert "proof-result" not in page


# --- JSON callers keep D32 exactly ----------------------------------------------------


@pytest.mark.parametrize("accept", [None, "*/*", "application/json"])
def test_form_posts_of_json_callers_keep_json(
    client, local_chain, make_request, accept
):
    pr = make_request()
    extra = {} if accept is None else {"HTTP_ACCEPT": accept}
    bad = client.post(
        f"/pay/{pr.pk}/proof", {"tx_hash": "0x1", "chain_id": "1"}, **extra
    )
    assert bad.status_code == 400
    assert bad.json() == {
        "ok": False,
        "error": "invalid_tx_hash",
        "message": ErrorCode.INVALID_TX_HASH.message,  # JSON keeps the API text
    }
    good = client.post(
        f"/pay/{pr.pk}/proof", {"tx_hash": HASH, "chain_id": str(CHAIN_ID)}, **extra
    )
    assert good.status_code == 202
    assert good.json() == {"ok": True, "proof_status": "attached"}


def test_the_page_script_json_post_keeps_json_whatever_it_accepts(
    client, local_chain, make_request
):
    pr = make_request()
    response = client.post(
        f"/pay/{pr.pk}/proof",
        {"tx_hash": HASH, "chain_id": CHAIN_ID},
        content_type="application/json",
        HTTP_ACCEPT=BROWSER_ACCEPT,
    )
    assert response.status_code == 202
    assert response.json() == {"ok": True, "proof_status": "attached"}


# --- bug 5: the JSON routes never answer Django's HTML ------------------------------


def test_a_form_in_another_charset_is_invalid_body_json(local_chain, make_request):
    pr = make_request()
    client = Client(raise_request_exception=False)
    response = client.generic(
        "POST",
        f"/pay/{pr.pk}/proof",
        f"tx_hash={HASH}&chain_id={CHAIN_ID}".encode(),
        content_type="application/x-www-form-urlencoded; charset=utf-16",
    )
    assert response.status_code == 400
    assert response["Content-Type"].startswith("application/json")
    assert response.json()["error"] == "invalid_body"


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "HEAD"])
def test_other_methods_on_status_are_405_json(local_chain, make_request, method):
    # CSRF checks on, as a real browser or curl meets them (the test client
    # skips them: over HTTP the POST was Django's HTML 403 first).
    client = Client(enforce_csrf_checks=True)
    pr = make_request()
    response = client.generic(method, f"/pay/{pr.pk}/status")
    assert response.status_code == 405
    assert response["Allow"] == "GET"
    if method != "HEAD":
        assert response.json()["error"] == "method_not_allowed"


def test_head_on_the_page_is_a_bodiless_200_that_does_not_open_it(
    client, local_chain, make_request
):
    pr = make_request(status=PR.Status.REQUESTED)
    response = client.head(f"/pay/{pr.pk}")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert response.content == b""
    pr.refresh_from_db()
    assert pr.status == PR.Status.REQUESTED  # a probe is not a view (D22)
    client.get(f"/pay/{pr.pk}")
    pr.refresh_from_db()
    assert pr.status == PR.Status.OPENED


@pytest.mark.parametrize("code", ["invalid_body", "invalid_request"])
def test_the_forms_own_registry_refusals_show_their_message(
    client, local_chain, make_request, code
):
    # An empty form or one without chain_id redirects with these (D34); they
    # have no customer wording of their own, so the registry's message shows.
    pr = make_request()
    page = client.get(f"/pay/{pr.pk}?proof_error={code}").content.decode()
    message = ErrorCode(code).message
    assert f'data-testid="proof-error">{escape(message)}</p>' in page


# --- D27: a rate-limited form post says when to try again -------------------------


def _limit_the_request(client, pr):
    """Use up the request's 10 submissions an hour (D27); the 11th is refused."""
    body = {"tx_hash": HASH, "chain_id": str(CHAIN_ID)}
    for _ in range(10):
        assert form_post(client, pr, body).status_code == 303
    return form_post(client, pr, body)


def test_a_rate_limited_form_post_carries_retry_after_and_the_page_the_wait(
    client, local_chain, make_request, frozen_clock
):
    pr = make_request()
    limited = _limit_the_request(client, pr)

    assert limited.status_code == 303
    assert limited["Location"] == f"/pay/{pr.pk}?proof_error=rate_limited"
    wait = int(limited["Retry-After"])
    assert 0 < wait <= 3600
    page = client.get(limited["Location"]).content.decode()
    minutes = -(-wait // 60)
    assert f"Please try again in about {minutes} minutes." in page


def test_the_wait_is_read_from_the_counters_not_from_the_link(
    client, local_chain, make_request, frozen_clock
):
    pr = make_request()
    link = f"/pay/{pr.pk}?proof_error=rate_limited"
    # Not limited: a hand-made link says nothing about waiting.
    assert "try again in" not in client.get(link).content.decode()
    assert "Too many attempts" not in client.get(link).content.decode()
    _limit_the_request(client, pr)
    assert "try again in" in client.get(link).content.decode()
    # Once the window is over, the same link (reloaded, bookmarked) is quiet.
    with time_machine.travel(timezone.now() + timedelta(hours=1), tick=False):
        assert "try again in" not in client.get(link).content.decode()


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (1, "1 second"),
        (59, "59 seconds"),
        (60, "about 1 minute"),
        (61, "about 2 minutes"),
    ],
)
def test_the_wait_in_words(seconds, text):
    assert wait_in_words(seconds) == text
