"""Every admin action leaves a LogEntry naming the staff user who took it.

Attach-proof always did; cancel, re-verify, key revoke, webhook enable/disable
and clearing an FX pin changed money-relevant state with no record of who
(STYLE.md: "Admin is for support"; D8 revocation, D18 cancel, D31 pins).
Plans and webhook resends are covered in tests/recurring and tests/webhooks.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.contrib.admin.models import CHANGE, LogEntry

from merchants.keys import api_key_create
from payments.admin import requests as request_admin
from payments.models import FxRate
from payments.services import fx_rate_set_manual
from tests.portal.conftest import make_request, make_verified
from tests.portal.test_admin import CHANGELIST, FX, run_action
from tests.portal.test_admin_audit_trail import form_data
from webhooks.services import webhook_endpoint_set

pytestmark = pytest.mark.django_db


def audit(obj) -> list[tuple[str, int, str]]:
    """``(username, action_flag, change_message)`` of the entries about ``obj``."""
    return [
        (e.user.username, e.action_flag, e.change_message)
        for e in LogEntry.objects.filter(object_id=str(obj.pk)).order_by("action_time")
    ]


def test_cancel_is_logged_per_request_that_was_cancelled(admin_client, merchant):
    open_pr = make_request(merchant)
    paid = make_verified(merchant)  # refused: not cancellable
    run_action(admin_client, CHANGELIST, "cancel", [open_pr.pk, paid.pk])
    assert audit(open_pr) == [("admin", CHANGE, "Cancelled the request")]
    assert audit(paid) == []


def test_reverify_is_logged(admin_client, merchant, monkeypatch):
    pr = make_request(merchant, proof_status="attached", tx_hash="0x" + "ab" * 32)

    def reverify(*, request, budget):  # no chain node here: the service's answer
        request.proof_status = "verified"
        return request

    monkeypatch.setattr(request_admin, "proof_reverify", reverify)
    run_action(admin_client, CHANGELIST, "reverify", [pr.pk])
    assert audit(pr) == [("admin", CHANGE, "Re-verified the proof: verified")]


def test_key_revoke_is_logged(admin_client, partner):
    key, _ = api_key_create(partner=partner, test_mode=False)
    run_action(admin_client, "/admin/merchants/apikey/", "revoke", [key.pk])
    key.refresh_from_db()
    assert key.revoked_at is not None
    assert audit(key) == [("admin", CHANGE, "Revoked the key")]


def test_webhook_enable_and_disable_are_logged(admin_client, partner, settings):
    settings.JOPAY_WEBHOOK_ALLOW_PRIVATE_HOSTS = True
    endpoint, _ = webhook_endpoint_set(partner=partner, url="https://127.0.0.1:1/h")
    url = "/admin/webhooks/webhookendpoint/"
    run_action(admin_client, url, "enable", [endpoint.pk])
    run_action(admin_client, url, "disable", [endpoint.pk])
    assert audit(endpoint) == [
        ("admin", CHANGE, "Enabled webhooks"),
        ("admin", CHANGE, "Disabled webhooks"),
    ]


def test_switching_webhooks_to_where_they_already_are_names_no_staff(
    admin_client, partner, settings
):
    # A page drawn before the partner switched its webhooks off: Disable did
    # nothing (the partner's own reason stays), yet the history said this
    # staff user disabled them, and staff were told nothing. Same for Enable.
    settings.JOPAY_WEBHOOK_ALLOW_PRIVATE_HOSTS = True
    endpoint, _ = webhook_endpoint_set(
        partner=partner, url="https://127.0.0.1:1/h", enabled=True
    )
    url = "/admin/webhooks/webhookendpoint/"
    on = run_action(admin_client, url, "enable", [endpoint.pk])
    webhook_endpoint_set(partner=partner, enabled=False)  # the partner's switch
    off = run_action(admin_client, url, "disable", [endpoint.pk])
    assert audit(endpoint) == []
    endpoint.refresh_from_db()
    assert endpoint.disabled_reason == "disabled_by_partner"
    said = [[str(m) for m in page.context["messages"]] for page in (on, off)]
    assert said == [
        [f"{partner}: webhooks were already on; nothing was changed."],
        [f"{partner}: webhooks were already off; nothing was changed."],
    ]


def test_clearing_fx_pins_is_logged(admin_client, partner):
    fx_rate_set_manual(currency="USD", rate=Decimal("1"))
    override = fx_rate_set_manual(currency="EUR", rate=Decimal("0.9"), partner=partner)
    global_usd = FxRate.objects.get(currency="USD", partner=None)
    run_action(admin_client, FX, "clear_manual", [global_usd.pk, override.pk])
    assert audit(global_usd) == [("admin", CHANGE, "Cleared the manual pin (unpinned)")]
    assert audit(override) == [
        ("admin", CHANGE, "Cleared the manual pin (deleted the override)")
    ]
    assert not FxRate.objects.filter(pk=override.pk).exists()


def test_a_refused_webhook_url_shows_on_the_form_and_logs_nothing(
    admin_client, partner, settings
):
    # D26: a plain-http URL. save_model caught the refusal, but the admin still
    # said "changed successfully" and logged a change that never happened.
    settings.JOPAY_WEBHOOK_ALLOW_PRIVATE_HOSTS = True
    endpoint, _ = webhook_endpoint_set(partner=partner, url="https://127.0.0.1:1/h")
    response = admin_client.post(
        f"/admin/webhooks/webhookendpoint/{endpoint.pk}/change/",
        {"url": "http://127.0.0.1:1/plain"},
    )
    assert response.status_code == 200
    assert "invalid_webhook_url" in str(response.context["adminform"].form.errors)
    endpoint.refresh_from_db()
    assert endpoint.url == "https://127.0.0.1:1/h"
    assert audit(endpoint) == []


def test_a_webhook_url_change_goes_through_the_service(admin_client, partner, settings):
    settings.JOPAY_WEBHOOK_ALLOW_PRIVATE_HOSTS = True
    endpoint, _ = webhook_endpoint_set(partner=partner, url="https://127.0.0.1:1/h")
    url = f"/admin/webhooks/webhookendpoint/{endpoint.pk}/change/"
    # As the page posts it: with its hidden loaded_as (stale_edits).
    data = {**form_data(admin_client.get(url)), "url": "https://127.0.0.1:2/new"}
    response = admin_client.post(url, data)
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.url == "https://127.0.0.1:2/new"
    assert [a[1] for a in audit(endpoint)] == [CHANGE]


def test_a_webhook_page_opened_before_the_partner_moved_the_url_does_not_move_it_back(
    admin_client, partner, settings
):
    """Staff opened the endpoint's page; the partner then moved its webhooks
    to a new URL in the portal. Saving the page (Save pressed on the old
    values) put the old URL back: every later event went to an address the
    partner had left. As on the partner and merchant pages, a page drawn from
    an older row is refused (merchants.admin.stale_edits)."""
    settings.JOPAY_WEBHOOK_ALLOW_PRIVATE_HOSTS = True
    endpoint, _ = webhook_endpoint_set(partner=partner, url="https://127.0.0.1:1/old")
    url = f"/admin/webhooks/webhookendpoint/{endpoint.pk}/change/"
    page = form_data(admin_client.get(url))
    webhook_endpoint_set(partner=partner, url="https://127.0.0.1:2/new")  # portal

    response = admin_client.post(url, page)

    assert response.status_code == 200  # the form again, saying why
    assert "changed elsewhere" in response.content.decode()
    endpoint.refresh_from_db()
    assert endpoint.url == "https://127.0.0.1:2/new"
    assert audit(endpoint) == []


def test_reverify_that_reattached_a_mismatch_is_logged_when_the_node_is_down(
    admin_client, test_merchant, chain
):
    """A re-verify attaches a mismatched proof again (a payment.proof_attached
    to the partner) before it asks the node; the node then not answering left
    that change with no record of the staff user who made it."""
    pr = make_request(
        test_merchant,
        proof_status="mismatch",
        mismatch_reason="not_found_after_timeout",
        chain_id=chain.chain_id,
        tx_hash="0x" + "ab" * 32,
        proof_source="customer",
    )
    run_action(admin_client, CHANGELIST, "reverify", [pr.pk])  # 127.0.0.1:1: down
    pr.refresh_from_db()
    assert pr.proof_status == "attached"  # changed, the check still to come
    assert audit(pr) == [
        ("admin", CHANGE, "Re-verified the proof: attached (rpc_unavailable)")
    ]
