"""``/portal/api-keys/``: create (shown once), list by mode, scopes, expiry, revoke
(D6–D8, D35)."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from merchants.keys import api_key_authenticate, api_key_create
from merchants.models import ApiKey
from payments.services import fx_rate_set_manual

pytestmark = pytest.mark.django_db

KEY_RE = re.compile(rb"jo_(live|test)_[A-Za-z0-9]{32}")


def errors(response) -> dict[str, list[str]]:
    form = response.context["form"]
    return {
        field: [e.code for e in errs] for field, errs in form.errors.as_data().items()
    }


def test_created_key_is_shown_once_then_never_again(portal, partner):
    response = portal.post(
        "/portal/api-keys/", {"name": "checkout", "mode": "live", "access": "full"}
    )
    assert response.status_code == 302
    key = ApiKey.objects.get(partner=partner, name="checkout")
    assert key.scopes is None
    assert key.test_mode is False

    page = portal.get("/portal/api-keys/")
    full = KEY_RE.search(page.content).group(0).decode()
    assert full.startswith("jo_live_")
    assert api_key_authenticate(full).pk == key.pk  # the one shown is the real key
    assert b"data-copy" in page.content

    again = portal.get("/portal/api-keys/")
    assert KEY_RE.search(again.content) is None
    assert key.prefix.encode() in again.content  # D35: first 12 characters listed


def test_no_server_store_ever_holds_the_new_key(portal, partner):
    """D6: only the hash is stored. The one-time display used to park the
    plaintext key in the session table until the next page view (two weeks
    when the redirect was never followed)."""
    from django.contrib.sessions.models import Session

    response = portal.post(
        "/portal/api-keys/", {"name": "ci", "mode": "live", "access": "full"}
    )
    stored = b"".join(
        repr(s.get_decoded()).encode() + s.session_data.encode()
        for s in Session.objects.all()
    )
    assert KEY_RE.search(stored) is None
    pad = response.cookies["jopay_new_key_pad"]
    assert KEY_RE.search(pad.value.encode()) is None
    assert (pad["path"], pad["httponly"], pad["samesite"]) == (
        "/portal/api-keys/",
        True,
        "Strict",
    )
    assert 0 < int(pad["max-age"]) <= 600

    page = portal.get("/portal/api-keys/")
    full = KEY_RE.search(page.content).group(0).decode()
    assert api_key_authenticate(full).name == "ci"
    assert page.cookies["jopay_new_key_pad"]["max-age"] == 0  # the half is dropped


def test_a_new_key_without_its_browser_half_is_not_shown(portal, partner):
    portal.post("/portal/api-keys/", {"name": "ci", "mode": "live", "access": "full"})
    del portal.cookies["jopay_new_key_pad"]

    page = portal.get("/portal/api-keys/")

    assert KEY_RE.search(page.content) is None
    assert b"can no longer be shown" in page.content


def test_restricted_key_gets_the_ticked_scopes(portal, partner):
    portal.post(
        "/portal/api-keys/",
        {
            "name": "reader",
            "mode": "live",
            "access": "restricted",
            "scopes": ["requests:read", "events:read"],
        },
    )
    key = ApiKey.objects.get(partner=partner, name="reader")
    assert key.scopes == ["events:read", "requests:read"]


def test_restricted_without_scopes_is_refused(portal, partner):
    """D7: an empty scope list is refused; full access is its own choice."""
    response = portal.post(
        "/portal/api-keys/", {"name": "x", "mode": "live", "access": "restricted"}
    )
    assert response.status_code == 400
    assert errors(response) == {"scopes": ["invalid_request"]}
    assert not partner.api_keys.exists()


def test_unknown_scope_is_refused(portal, partner):
    response = portal.post(
        "/portal/api-keys/",
        {"name": "x", "mode": "live", "access": "restricted", "scopes": ["admin:all"]},
    )
    assert response.status_code == 400
    assert "scopes" in errors(response)
    assert not partner.api_keys.exists()


def test_expiry_is_read_as_utc_and_past_expiry_is_refused(portal, partner):
    future = (timezone.now() + timedelta(days=30)).strftime("%Y-%m-%dT%H:%M")
    portal.post(
        "/portal/api-keys/",
        {"name": "temp", "mode": "test", "access": "full", "expires_at": future},
    )
    key = ApiKey.objects.get(name="temp")
    assert key.test_mode is True
    assert key.expires_at.strftime("%Y-%m-%dT%H:%M") == future

    past = (timezone.now() - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    response = portal.post(
        "/portal/api-keys/",
        {"name": "old", "mode": "live", "access": "full", "expires_at": past},
    )
    assert response.status_code == 400
    assert "expires_at" in errors(response)
    assert not ApiKey.objects.filter(name="old").exists()
    # In words, not the service's "expires_at is in the past".
    assert "Pick a time in the future (UTC)" in response.content.decode()
    assert b"expires_at is in the past" not in response.content


def test_bad_mode_is_refused(portal, partner):
    response = portal.post("/portal/api-keys/", {"mode": "prod", "access": "full"})
    assert response.status_code == 400
    assert not partner.api_keys.exists()


def test_list_shows_the_current_mode_only(portal, portal_test, partner, other_partner):
    live, _ = api_key_create(partner=partner, test_mode=False, name="live one")
    test, _ = api_key_create(partner=partner, test_mode=True, name="test one")
    bobs, _ = api_key_create(partner=other_partner, test_mode=False, name="bob")
    live_page = portal.get("/portal/api-keys/").content
    assert live.prefix.encode() in live_page
    assert test.prefix.encode() not in live_page
    assert bobs.prefix.encode() not in live_page
    assert test.prefix.encode() in portal_test.get("/portal/api-keys/").content


def test_a_key_made_for_the_other_mode_says_where_it_is_listed(portal, partner):
    portal.post("/portal/api-keys/", {"name": "t", "mode": "test", "access": "full"})
    page = portal.get("/portal/api-keys/").content
    assert KEY_RE.search(page).group(0).startswith(b"jo_test_")
    assert b"listed when the portal shows test mode" in page


def test_revoke_stops_the_key_at_once(portal, partner):
    key, full = api_key_create(partner=partner, test_mode=False, name="old")
    response = portal.post(f"/portal/api-keys/{key.pk}/revoke/", follow=True)
    assert response.status_code == 200
    key.refresh_from_db()
    assert key.revoked_at is not None
    with pytest.raises(Exception, match="auth_failed"):
        api_key_authenticate(full)
    assert b"revoked" in response.content


def test_revoking_twice_keeps_the_first_time(portal, partner):
    key, _ = api_key_create(partner=partner, test_mode=False)
    portal.post(f"/portal/api-keys/{key.pk}/revoke/")
    first = ApiKey.objects.get(pk=key.pk).revoked_at
    portal.post(f"/portal/api-keys/{key.pk}/revoke/")
    assert ApiKey.objects.get(pk=key.pk).revoked_at == first


def test_revoke_needs_post(portal, partner):
    key, _ = api_key_create(partner=partner, test_mode=False)
    assert portal.get(f"/portal/api-keys/{key.pk}/revoke/").status_code == 405


def test_a_form_left_open_in_a_live_tab_acts_in_live_mode(portal, partner):
    # Tab A shows the live keys; tab B switches the session to test. Tab A's
    # Revoke answered the 404 page and revoked nothing.
    key, _ = api_key_create(partner=partner, test_mode=False, name="old")
    page = portal.get("/portal/api-keys/").content.decode()
    assert 'name="portal_mode" value="live"' in page
    portal.post("/portal/mode/", {"mode": "test"})
    answer = portal.post(
        f"/portal/api-keys/{key.pk}/revoke/", {"portal_mode": "live"}, follow=True
    )
    assert answer.status_code == 200
    assert ApiKey.objects.get(pk=key.pk).revoked_at is not None
    assert "Switched to live mode" in answer.content.decode()
    # Without the field (an old form), the session's mode still decides.
    other, _ = api_key_create(partner=partner, test_mode=False, name="other")
    portal.post("/portal/mode/", {"mode": "test"})
    assert portal.post(f"/portal/api-keys/{other.pk}/revoke/").status_code == 404
    assert ApiKey.objects.get(pk=other.pk).revoked_at is None


# The page as a partner's staff read it: which keys still work, which row a
# button acts on.


def _row(html: str, prefix: str) -> str:
    rows = re.findall(r"<tr[ >].*?</tr>", html, re.S)
    return next(row for row in rows if prefix in row)


def test_an_expired_key_is_marked_expired_not_offered_like_a_working_one(
    portal, partner
):
    """D8: an expired key answers auth_failed. The list showed it as a working
    key (a Revoke button, no mark, only a date in the Expires column), so staff
    chasing auth_failed errors saw nothing wrong with the key their server
    used."""
    key, _ = api_key_create(
        partner=partner,
        test_mode=False,
        name="nightly export",
        expires_at=timezone.now() + timedelta(minutes=5),
    )
    ApiKey.objects.filter(pk=key.pk).update(
        expires_at=timezone.now() - timedelta(hours=1)
    )
    working, _ = api_key_create(partner=partner, test_mode=False, name="checkout")

    html = portal.get("/portal/api-keys/").content.decode()

    expired_row = _row(html, key.prefix)
    assert 'data-testid="key-expired"' in expired_row
    assert "Revoke" not in expired_row
    working_row = _row(html, working.prefix)
    assert 'data-testid="key-expired"' not in working_row
    assert "Revoke" in working_row


def test_a_rows_buttons_name_the_row_they_act_on(portal, partner):
    """Every key's button was just "Revoke" (and "Change scopes"), every FX
    override's just "Remove": a screen reader listing the page's buttons
    offered three identical "Revoke"s with no way to tell which key each
    would stop."""
    keys = [
        api_key_create(partner=partner, test_mode=False, name=name)[0]
        for name in ("checkout", "reporting")
    ]
    partner.enabled_currencies = ["EUR", "JPY"]
    partner.save()
    fx_rate_set_manual(currency="JPY", rate=Decimal("151.25"), partner=partner)

    html = portal.get("/portal/api-keys/").content.decode()
    for key in keys:
        row = _row(html, key.prefix)
        assert f'aria-label="Revoke {key.prefix}…"' in row
        assert f'aria-label="Change the scopes of {key.prefix}…"' in row
    settings_html = portal.get("/portal/settings/").content.decode()
    assert 'aria-label="Remove your JPY override"' in settings_html
