"""The audit trail (spec §5.1, §8): who changed keys, webhooks, settings, FX
overrides and merchants, written with the change and shown to the partner at
``/portal/activity/``."""

from __future__ import annotations

import re
import sys

import pytest
from django.contrib.auth import get_user_model

from merchants.audit import acting_as, audit_record, current_actor
from merchants.models import ApiKey, AuditEntry
from merchants.portal.services import partner_settings_update
from tests.factories import WALLET

pytestmark = pytest.mark.django_db

URL = "https://127.0.0.1:9443/jopay/hooks"


def entries(partner, after: int = 0) -> list[tuple[str, str, str]]:
    return list(
        AuditEntry.objects.filter(partner=partner, id__gt=after)
        .order_by("id")
        .values_list("action", "actor_kind", "actor")
    )


def mark() -> int:
    """The newest entry's id: what fixtures wrote (their API keys) comes before."""
    last = AuditEntry.objects.order_by("-id").first()
    return last.id if last else 0


def test_portal_changes_name_the_signed_in_user(portal, partner):
    portal.post("/portal/api-keys/", {"name": "ci", "mode": "live", "access": "full"})
    key = ApiKey.objects.get(partner=partner, name="ci")
    portal.post(f"/portal/api-keys/{key.pk}/revoke/")
    portal.post(f"/portal/api-keys/{key.pk}/revoke/")  # already revoked: no entry
    portal.post("/portal/webhooks/url/", {"url": URL})
    portal.post("/portal/webhooks/enabled/", {"enabled": "1"})
    portal.post("/portal/webhooks/secret/")
    alice = ("portal_user", "alice@example.com")
    assert entries(partner) == [
        ("api_key.created", *alice),
        ("api_key.revoked", *alice),
        ("webhook.url_changed", *alice),
        ("webhook.enabled", *alice),
        ("webhook.secret_revealed", *alice),
    ]
    created = AuditEntry.objects.get(action="api_key.created")
    assert (created.target, created.test_mode) == (key.prefix, False)
    # Never a secret in the trail: not the key, not the webhook secret.
    endpoint = partner.webhook_endpoint
    for entry in AuditEntry.objects.all():
        text = f"{entry.target} {entry.details}"
        assert endpoint.secret not in text
        # A key appears only as its 12-character prefix (jo_live_ + 4).
        assert not re.search(r"jo_(live|test)_[0-9A-Za-z]{5}", text)


def test_api_changes_name_the_key_and_the_actor_does_not_outlive_the_request(
    api, partner
):
    start = mark()
    created = api.post("/api/v1/merchants", {"business_name": "Mia"}, format="json")
    merchant_id = created.json()["merchant_id"]
    api.patch(f"/api/v1/merchants/{merchant_id}", {"disabled": True}, format="json")
    api.patch(f"/api/v1/merchants/{merchant_id}", {"disabled": True}, format="json")
    prefix = ApiKey.objects.get(partner=partner).prefix
    assert entries(partner, start) == [
        ("merchant.created", "api_key", prefix),
        ("merchant.updated", "api_key", prefix),  # the repeat changed nothing
    ]
    updated = AuditEntry.objects.get(action="merchant.updated")
    assert updated.details == {
        "changed": ["disabled"],
        "disabled": True,
        "auto_forward": False,
    }
    assert updated.target == merchant_id
    # The middleware cleared the key's name after the request.
    assert current_actor()[1] != prefix


def test_a_refused_change_leaves_no_entry(api, partner):
    start = mark()
    answer = api.post(
        "/api/v1/merchants", {"display_currency": "CHF"}, format="json"
    )  # not enabled for Alice
    assert answer.json()["error"] == "unsupported_currency"
    with pytest.raises(Exception):  # noqa: B017, PT011 (any refusal)
        partner_settings_update(
            partner=partner,
            enabled_currencies=["EUR"],
            default_currency="USD",  # not enabled
            min_fiat_per_request=100,
            max_fiat_per_request=None,
            pos_expiry_seconds=3600,
            invoice_expiry_seconds=604800,
        )
    assert entries(partner, start) == []


def test_settings_record_what_changed_from_what(partner):
    with acting_as(AuditEntry.ActorKind.PORTAL_USER, "alice@example.com"):
        partner_settings_update(
            partner=partner,
            enabled_currencies=[*partner.enabled_currencies, "CHF"],
            default_currency="EUR",
            min_fiat_per_request=250,
            max_fiat_per_request=None,
            pos_expiry_seconds=partner.pos_expiry_seconds,
            invoice_expiry_seconds=partner.invoice_expiry_seconds,
        )
    entry = AuditEntry.objects.get(action="settings.updated")
    before, after = entry.details["enabled_currencies"]
    assert set(after) - set(before) == {"CHF"}
    assert entry.details["min_fiat_per_request"][1] == 250
    assert "default_currency" not in entry.details  # unchanged


def test_fx_overrides_staff_and_operators_are_named(partner, admin_client, monkeypatch):
    from decimal import Decimal

    from payments.services.fx import fx_rate_clear_manual, fx_rate_set_manual

    with acting_as(AuditEntry.ActorKind.PORTAL_USER, "alice@example.com"):
        fx_rate_set_manual(currency="USD", rate=Decimal("1.08"), partner=partner)
        fx_rate_clear_manual(currency="USD", partner=partner)
        fx_rate_clear_manual(currency="USD", partner=partner)  # nothing to clear
    assert [e[0] for e in entries(partner)] == ["fx_rate.pinned", "fx_rate.unpinned"]
    pinned = AuditEntry.objects.get(action="fx_rate.pinned")
    assert (pinned.target, pinned.details) == ("USD", {"rate": "1.08"})
    # A staff user in the admin.
    from webhooks.services import webhook_endpoint_set

    endpoint, _ = webhook_endpoint_set(partner=partner, url=URL, enabled=True)
    admin_client.post(
        "/admin/webhooks/webhookendpoint/",
        {"action": "disable", "_selected_action": [endpoint.pk], "post": "yes"},
    )
    staff = get_user_model().objects.get(is_superuser=True).get_username()
    assert ("webhook.disabled", "staff", staff) in entries(partner)
    # A manage.py command, without a request.
    monkeypatch.setattr(sys, "argv", ["manage.py", "set_fx_rate", "USD", "1.1"])
    assert current_actor() == ("operator", "manage.py set_fx_rate")


def test_a_merchant_finishing_onboarding_is_named(client, api, partner):
    body = api.post("/api/v1/merchants", {}, format="json").json()
    path = body["onboarding_url"].removeprefix("http://testserver")
    client.post(path, {"wallet_address": WALLET, "accept_terms": "on"})
    entry = AuditEntry.objects.get(action="merchant.onboarded")
    assert (entry.actor_kind, entry.actor) == ("merchant", "onboarding link")
    assert entry.details == {"wallet_address": WALLET, "terms_version": "1"}


def test_the_activity_page_shows_the_partners_own_entries_newest_first(
    portal, partner, other_partner
):
    for n in range(55):
        audit_record(partner=partner, action="merchant.updated", target=f"m{n}")
    audit_record(partner=other_partner, action="api_key.revoked", target="bob-key")
    page = portal.get("/portal/activity/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "m54" in html
    assert "m4<" not in html  # on the next page
    assert "bob-key" not in html
    older = page.context["older"]
    second = portal.get(f"/portal/activity/?before={older}").content.decode()
    assert "m4<" in second
    assert "m54<" not in second
    assert portal.get("/portal/activity/?before=x").status_code == 200


def test_activity_details_read_as_words_not_python_values(portal, partner):
    """None, lists and ISO timestamps in an entry's details are shown for people."""
    audit_record(
        partner=partner,
        action="api_key.created",
        target="jo_live_AbCd",
        details={
            "name": "",
            "scopes": ["requests:read", "requests:write"],
            "expires_at": "2027-01-05T17:46:17.535851+00:00",
        },
    )
    audit_record(
        partner=partner,
        action="settings.updated",
        details={"enabled_currencies": [["EUR"], ["EUR", "USD"]]},
    )
    html = portal.get("/portal/activity/").content.decode()
    assert "None" not in html
    assert "[&#x27;" not in html
    assert "scopes: requests:read, requests:write" in html
    assert "expires_at: 2027-01-05 17:46 UTC" in html
    assert "enabled_currencies: EUR → EUR, USD" in html


def _settings(partner, **changes):
    values = {
        "enabled_currencies": partner.enabled_currencies,
        "default_currency": partner.default_currency,
        "min_fiat_per_request": partner.min_fiat_per_request,
        "max_fiat_per_request": partner.max_fiat_per_request,
        "pos_expiry_seconds": partner.pos_expiry_seconds,
        "invoice_expiry_seconds": partner.invoice_expiry_seconds,
    }
    with acting_as(AuditEntry.ActorKind.PORTAL_USER, "alice@example.com"):
        return partner_settings_update(partner=partner, **{**values, **changes})


def test_activity_shows_limits_in_their_currency_not_minor_units(portal, partner):
    """A limit is minor units of the default currency (D35); the trail keeps
    that currency so it reads 2.50 EUR, and ¥ limits stay in yen after a
    switch of the default currency."""
    partner = _settings(
        partner,
        enabled_currencies=sorted({*partner.enabled_currencies, "EUR", "JPY"}),
        default_currency="EUR",
    )
    start = mark()
    partner = _settings(partner, min_fiat_per_request=250, max_fiat_per_request=500000)
    entry = AuditEntry.objects.get(id__gt=start, action="settings.updated")
    assert entry.details["limits_currency"] == "EUR"
    _settings(
        partner,
        default_currency="JPY",
        min_fiat_per_request=300,
        max_fiat_per_request=700000,
    )
    html = portal.get("/portal/activity/").content.decode()
    assert "min_fiat_per_request: 2.50 EUR → 300 JPY" in html
    assert "max_fiat_per_request: 5,000.00 EUR → 700,000 JPY" in html
    assert "→ 2.50 EUR" in html  # the EUR-only change
    assert "limits_currency" not in html
    assert (
        re.search(r"min_fiat_per_request: [0-9,.]+ (EUR|JPY|USD) → 250\b", html) is None
    )


def test_activity_old_limit_entries_say_minor_units(portal, partner):
    """An entry from before the currency was kept does not guess it."""
    audit_record(
        partner=partner,
        action="settings.updated",
        details={"min_fiat_per_request": [100, 250]},
    )
    html = portal.get("/portal/activity/").content.decode()
    assert "min_fiat_per_request: 100 (minor units) → 250 (minor units)" in html


def test_a_portal_user_made_by_the_operator_command_is_in_the_trail(
    partner, alice_user, monkeypatch
):
    """D31's create_partner_user grants a login that sees the webhook secret
    and mints API keys: the partner's Activity names it, as the admin's link
    (portal_user.added) already was."""
    from django.core.management import call_command

    monkeypatch.setattr(sys, "argv", ["manage.py", "create_partner_user"])
    call_command(
        "create_partner_user",
        partner=partner.slug,
        email="Carol@Example.com",
        password="a-long-enough-passphrase",
        stdout=__import__("io").StringIO(),
    )

    entry = AuditEntry.objects.get(partner=partner, action="portal_user.added")
    assert (entry.actor_kind, entry.actor, entry.target) == (
        "operator",
        "manage.py create_partner_user",
        "carol@example.com",
    )
    assert entry.test_mode is None  # a login sees both modes
    from tests.portal.conftest import logged_in

    page = logged_in(alice_user).get("/portal/activity/").content.decode()
    assert "portal_user.added" in page
    assert "carol@example.com" in page


def test_a_withdraw_address_changed_over_the_api_records_both_addresses(
    api, merchant, alice_user
):
    """Where the merchant's money is sent on: the trail says from where to
    where, as for a staff edit in the admin (a leaked key repointing it must
    be traceable), not only that the field changed."""
    first = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"
    then = "0x90F79bf6EB2c4f870365E785982E1f101E93b906"
    url = f"/api/v1/merchants/{merchant.pk}"
    assert api.patch(url, {"withdraw_address": first}, format="json").status_code == 200
    assert api.patch(url, {"withdraw_address": then}, format="json").status_code == 200
    assert api.patch(url, {"withdraw_address": None}, format="json").status_code == 200

    details = [
        e.details
        for e in AuditEntry.objects.filter(action="merchant.updated").order_by("id")
    ]
    assert [d["withdraw_address"] for d in details] == [
        {"from": "", "into": first},
        {"from": first, "into": then},
        {"from": then, "into": ""},
    ]
    assert all(d["changed"] == ["withdraw_address"] for d in details)
    from tests.portal.conftest import logged_in

    page = logged_in(alice_user).get("/portal/activity/").content.decode()
    assert f"from: {first}, into: {then}" in page
