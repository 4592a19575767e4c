"""The onboarding page /onboard/<token>/ (D28, D35), through the Django test client."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from merchants.models import Merchant
from tests.factories import WALLET
from tests.merchants.conftest import URL, detail_url


def _broken(address: str) -> str:
    for i, ch in enumerate(address[2:], start=2):
        if ch.isalpha():
            return address[:i] + ch.swapcase() + address[i + 1 :]
    raise AssertionError


@pytest.fixture
def shell(api, partner):
    """An incomplete merchant created over the API: (merchant, page path)."""
    partner.logo_url = "https://cdn.example/alice.png"
    partner.primary_color = "#FF6600"
    partner.save()
    body = api.post(URL, {"business_name": "Mia's Bakery"}, format="json").json()
    path = body["onboarding_url"].removeprefix("http://testserver")
    return Merchant.objects.get(pk=body["merchant_id"]), path


def _accept(client, path, wallet=WALLET, terms=True):
    data = {"wallet_address": wallet}
    if terms:
        data["accept_terms"] = "on"
    return client.post(path, data)


def test_page_shows_partner_branding_merchant_and_a_csrf_protected_form(client, shell):
    _, path = shell
    response = client.get(path)
    assert response.status_code == 200
    html = response.content.decode()
    assert "Alice Pay" in html
    assert "Mia&#x27;s Bakery" in html
    assert "https://cdn.example/alice.png" in html
    assert "#FF6600" in html
    assert 'name="csrfmiddlewaretoken"' in html
    assert 'name="wallet_address"' in html
    assert 'name="accept_terms"' in html
    assert response["Cache-Control"].startswith("max-age=0")


def test_submitting_completes_onboarding_and_burns_the_link(client, shell, api):
    merchant, path = shell
    before = timezone.now()
    response = _accept(client, path)
    assert (response.status_code, response["Location"]) == (302, "/onboard/done/")
    assert WALLET in client.get("/onboard/done/").content.decode()
    merchant.refresh_from_db()
    assert merchant.onboarding_status == Merchant.OnboardingStatus.COMPLETE
    assert merchant.wallet_address == WALLET
    assert merchant.wallet_type == Merchant.WalletType.EXTERNAL
    assert merchant.terms_accepted_at >= before
    assert (merchant.onboarding_token_hash, merchant.onboarding_token_expires_at) == (
        "",
        None,
    )
    assert merchant.is_ready
    # Single use: the link is gone for GET and POST (the browser that used it
    # is shown its outcome again, and nothing changes either way).
    assert Client().get(path).status_code == 404
    assert _accept(Client(), path, wallet=WALLET.lower()).status_code == 404
    assert _accept(client, path, wallet=WALLET.lower())["Location"] == "/onboard/done/"
    merchant.refresh_from_db()
    assert merchant.wallet_address == WALLET
    # The API shows the merchant complete, without a link.
    body = api.get(detail_url(merchant.pk)).json()
    assert (
        body["onboarding_status"],
        body["onboarding_url"],
        body["wallet_address"],
    ) == ("complete", None, WALLET)


def test_lowercase_wallet_is_accepted(client, shell):
    merchant, path = shell
    assert _accept(client, path, wallet=WALLET.lower()).status_code == 302
    merchant.refresh_from_db()
    assert merchant.wallet_address == WALLET.lower()


def test_a_reload_after_success_shows_success_again(client, shell):
    # The answer was rendered from the POST: a reload re-POSTed to the spent
    # link and said "not valid", which read like a failure.
    _, path = shell
    done = _accept(client, path, wallet=WALLET)["Location"]
    for _ in range(2):
        page = client.get(done)
        assert page.status_code == 200
        assert "all set" in page.content.decode()


def test_the_done_page_is_only_this_browsers(shell):
    assert Client().get("/onboard/done/").status_code == 404


@pytest.mark.parametrize("wallet", ["", "0x123", "hello", WALLET[2:], "x" * 100])
def test_invalid_wallet_rerenders_the_form_and_changes_nothing(client, shell, wallet):
    merchant, path = shell
    response = _accept(client, path, wallet=wallet)
    assert response.status_code == 400
    assert 'name="wallet_address"' in response.content.decode()
    merchant.refresh_from_db()
    assert merchant.onboarding_status == Merchant.OnboardingStatus.INCOMPLETE
    assert merchant.wallet_address == ""
    assert client.get(path).status_code == 200  # the link still works


def test_wrong_checksum_is_explained(client, shell):
    _, path = shell
    response = _accept(client, path, wallet=_broken(WALLET))
    assert response.status_code == 400
    assert "EIP-55" in response.content.decode()


def test_terms_must_be_accepted(client, shell):
    merchant, path = shell
    response = _accept(client, path, terms=False)
    assert response.status_code == 400
    assert "accept the terms" in response.content.decode()
    merchant.refresh_from_db()
    assert merchant.onboarding_status == Merchant.OnboardingStatus.INCOMPLETE
    assert merchant.terms_accepted_at is None


def test_expired_link_is_a_friendly_404_for_get_and_post(client, shell):
    merchant, path = shell
    Merchant.objects.filter(pk=merchant.pk).update(
        onboarding_token_expires_at=timezone.now() - timedelta(seconds=1)
    )
    page = client.get(path)
    assert page.status_code == 404
    assert "not valid" in page.content.decode()
    assert _accept(client, path).status_code == 404
    merchant.refresh_from_db()
    assert merchant.onboarding_status == Merchant.OnboardingStatus.INCOMPLETE


@pytest.mark.parametrize("who", ["merchant", "partner"])
def test_a_disabled_merchant_cannot_finish_onboarding(client, shell, api, who):
    # Disabling is how a fraud report stops a merchant: its still-live link
    # registered a wallet of its choosing, ready the moment it was re-enabled.
    merchant, path = shell
    if who == "merchant":
        Merchant.objects.filter(pk=merchant.pk).update(disabled=True)
    else:
        merchant.partner.is_active = False
        merchant.partner.save(update_fields=["is_active"])
    assert client.get(path).status_code == 404
    assert _accept(client, path).status_code == 404
    merchant.refresh_from_db()
    assert (merchant.onboarding_status, merchant.wallet_address) == ("incomplete", "")


def test_a_disabled_merchant_shows_no_link_and_gets_it_back_when_enabled(
    client, shell, api
):
    merchant, path = shell
    api.patch(detail_url(merchant.pk), {"disabled": True}, format="json")
    assert api.get(detail_url(merchant.pk)).json()["onboarding_url"] is None
    api.patch(detail_url(merchant.pk), {"disabled": False}, format="json")
    url = api.get(detail_url(merchant.pk)).json()["onboarding_url"]
    assert url.endswith(path)  # the same, still unexpired link
    assert client.get(path).status_code == 200


@pytest.mark.parametrize("token", ["nope", "A" * 43, "A" * 44, "-" * 43])
def test_unknown_tokens_are_404(client, db, token):
    response = client.get(f"/onboard/{token}/")
    assert response.status_code == 404
    assert "not valid" in response.content.decode()


def test_csrf_is_enforced(shell):
    merchant, path = shell
    strict = Client(enforce_csrf_checks=True)
    assert (
        strict.post(path, {"wallet_address": WALLET, "accept_terms": "on"}).status_code
        == 403
    )
    merchant.refresh_from_db()
    assert merchant.onboarding_status == Merchant.OnboardingStatus.INCOMPLETE
    # With the token from the page it goes through.
    page = strict.get(path)
    token = page.cookies["csrftoken"].value
    done = strict.post(
        path,
        {"wallet_address": WALLET, "accept_terms": "on", "csrfmiddlewaretoken": token},
    )
    assert done.status_code == 302  # to the done page


def test_other_methods_are_refused(client, shell):
    _, path = shell
    assert client.put(path).status_code == 405


def test_a_secret_key_rotation_keeps_the_link_the_merchant_already_has(
    client, shell, api, settings
):
    # Django's key rotation: the old key moves to SECRET_KEY_FALLBACKS. The
    # API showed a new link on the next GET and killed the one the partner
    # had already e-mailed to the merchant.
    merchant, path = shell
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-key-" + "x" * 50
    shown = api.get(detail_url(merchant.pk)).json()["onboarding_url"]
    assert shown.removeprefix("http://testserver") == path
    assert client.get(path).status_code == 200
    # Once the old key is dropped, the link can no longer be rebuilt: a fresh
    # one replaces it (D35), and the old one stops opening.
    settings.SECRET_KEY_FALLBACKS = []
    fresh = api.get(detail_url(merchant.pk)).json()["onboarding_url"]
    assert fresh.removeprefix("http://testserver") != path
    assert client.get(path).status_code == 404


def test_the_page_is_rate_limited_per_ip_with_an_html_429(client, shell, frozen_clock):
    # D27's public pages: GET 60 a minute, form submissions 30 an hour, per IP.
    _, path = shell
    for _ in range(60):
        assert client.get(path, REMOTE_ADDR="10.0.0.1").status_code == 200
    limited = client.get(path, REMOTE_ADDR="10.0.0.1")
    assert limited.status_code == 429
    assert "Too many requests" in limited.content.decode()
    assert int(limited["Retry-After"]) > 0
    assert client.get(path, REMOTE_ADDR="10.0.0.2").status_code == 200
    for _ in range(30):  # refused submissions (no terms): the form again
        bad = client.post(path, {"wallet_address": WALLET}, REMOTE_ADDR="10.0.0.3")
        assert bad.status_code == 400
    limited = client.post(
        path, {"wallet_address": WALLET, "accept_terms": "on"}, REMOTE_ADDR="10.0.0.3"
    )
    assert limited.status_code == 429
    assert Merchant.objects.get(pk=shell[0].pk).onboarding_status == "incomplete"


def test_the_terms_are_linked_and_their_version_is_recorded(client, shell, settings):
    # D28: "accepts the terms": which terms, and which version, is on record.
    merchant, path = shell
    settings.JOPAY_TERMS_URL = "https://jopay.example/terms/v3"
    settings.JOPAY_TERMS_VERSION = "2026-11"
    html = client.get(path).content.decode()
    assert 'href="https://jopay.example/terms/v3"' in html
    assert "version 2026-11" in html
    assert _accept(client, path).status_code == 302
    merchant.refresh_from_db()
    assert merchant.terms_version == "2026-11"
    assert merchant.terms_accepted_at is not None


def test_a_test_mode_link_says_so_on_the_page_and_after(client, api_test, api):
    # The pay page marks test mode (D22): the onboarding page of a merchant
    # made with a test key said nothing, so a test link sent to a real merchant
    # by mistake was filled in and read as done, while the live merchant stayed
    # incomplete (and never got its own link).
    body = api_test.post(URL, {"business_name": "Mia's Bakery"}, format="json").json()
    path = body["onboarding_url"].removeprefix("http://testserver")
    page = client.get(path).content.decode()
    assert "<title>[Test] " in page
    assert "Test mode" in page
    assert _accept(client, path).status_code == 302
    done = client.get("/onboard/done/").content.decode()
    assert "<title>[Test] " in done
    assert "Test mode" in done
    # A live merchant's pages say nothing of the kind.
    live = api.post(URL, {"business_name": "Live"}, format="json").json()
    live_path = live["onboarding_url"].removeprefix("http://testserver")
    assert "Test mode" not in client.get(live_path).content.decode()


def test_a_stored_bidi_override_is_not_shown(client, shell):
    # D22: names stored before the rule refusing bidi controls are shown
    # without them (as the pay page does): the onboarding page printed them,
    # so an override turned the text after the name around.
    merchant, path = shell
    Merchant.objects.filter(pk=merchant.pk).update(business_name="Mia\u202egnp.exe")
    type(merchant.partner).objects.filter(pk=merchant.partner.pk).update(
        name="Alice\u2067 Pay"
    )
    page = client.get(path).content.decode()
    assert "Miagnp.exe" in page
    assert "Alice Pay" in page
    assert "\u202e" not in page
    assert "\u2067" not in page
    assert _accept(client, path).status_code == 302
    done = client.get("/onboard/done/").content.decode()
    assert "Miagnp.exe" in done
    assert "Alice Pay" in done
    assert "\u202e" not in done
    assert "\u2067" not in done


def test_the_browser_that_used_the_link_is_shown_its_outcome_again(client, shell):
    # Back after finishing, or a second click on "Finish setup" that arrived
    # after the first: the spent link answered "This onboarding link is not
    # valid", read as a failed setup although it had worked.
    merchant, path = shell
    assert client.get(path).status_code == 200
    assert _accept(client, path)["Location"] == "/onboard/done/"
    again = client.get(path)
    assert (again.status_code, again["Location"]) == (302, "/onboard/done/")
    again = _accept(client, path, wallet="0x" + "22" * 20)
    assert (again.status_code, again["Location"]) == (302, "/onboard/done/")
    merchant.refresh_from_db()
    assert merchant.wallet_address == WALLET  # the second submit changed nothing
    # Anyone else still finds the link spent.
    assert Client().get(path).status_code == 404
    assert _accept(Client(), path).status_code == 404


def test_the_wallet_hint_is_tied_to_its_field_for_screen_readers(client, shell):
    # The hint under the wallet field (what address to enter) was a loose
    # paragraph: a screen reader on the field read its label only, and after
    # a refusal only the error.
    _, path = shell
    for response in (client.get(path), _accept(client, path, wallet="0x12")):
        html = response.content.decode()
        assert 'id="id_wallet_address_helptext"' in html
        hint = html.split('id="id_wallet_address_helptext"', 1)[1].split("</", 1)[0]
        assert "An EVM address you control" in hint
        field = html.split('name="wallet_address"', 1)[1].split(">", 1)[0]
        assert "id_wallet_address_helptext" in field
    both = "id_wallet_address_helptext id_wallet_address_error"
    assert f'aria-describedby="{both}"' in html  # after a refusal: hint and error


def test_a_pasted_address_with_spaces_around_it_fits_the_field(client, shell):
    # The server strips the spaces a copy picks up, but the field's
    # maxlength="42" made the browser cut a pasted " 0x…" to 42 characters,
    # dropping the address's last digit before it was ever sent: refused as
    # invalid, with the address on screen one digit short.
    merchant, path = shell
    field = client.get(path).content.decode().split('name="wallet_address"', 1)[1]
    maxlength = re.search(r'maxlength="(\d+)"', field.split(">", 1)[0])
    assert maxlength is None or int(maxlength[1]) >= len(f"  {WALLET}  ")
    assert _accept(client, path, wallet=f"  {WALLET}\t ").status_code == 302
    merchant.refresh_from_db()
    assert merchant.wallet_address == WALLET


def test_a_stored_non_https_logo_is_not_drawn(client, shell):
    # The pages' policy loads https images only; a logo stored before the
    # admin refused other schemes drew a broken image (and a CSP violation)
    # beside the partner's name. The pay page already leaves it out.
    merchant, path = shell
    type(merchant.partner).objects.filter(pk=merchant.partner.pk).update(
        logo_url="http://cdn.example/alice.png"
    )
    html = client.get(path).content.decode()
    assert "cdn.example" not in html
    assert "<img" not in html
    assert "Alice Pay" in html
