"""Switching a chain on or off in the admin names who did it.

"Disable the selected chains" stops every new proof on that chain; it ran a
bare ``UPDATE`` and left no ``LogEntry``, unlike every other admin action
(revoke a key, cancel a request, pause a plan, disable webhooks).
"""

from __future__ import annotations

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.auth.models import Permission, User
from django.test import Client

from merchants.models import AuditEntry
from payments.models import Chain
from tests.portal.test_admin_audit_trail import drawn

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator() -> Client:
    user = User.objects.create_user(
        "ops@jopay.example", password="x" * 12, is_staff=True
    )
    user.user_permissions.set(
        Permission.objects.filter(codename__in=["view_chain", "change_chain"])
    )
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.parametrize(
    ("action", "enabled", "message"),
    [("disable", False, "Disabled the chain"), ("enable", True, "Enabled the chain")],
)
def test_the_chain_actions_leave_a_log_entry(operator, chain, action, enabled, message):
    Chain.objects.filter(pk=chain.pk).update(enabled=not enabled)

    response = operator.post(
        "/admin/payments/chain/",
        {"action": action, "_selected_action": [str(chain.pk)]},
    )

    assert response.status_code == 302
    chain.refresh_from_db()
    assert chain.enabled is enabled
    entry = LogEntry.objects.get(object_id=str(chain.pk))
    assert (entry.action_flag, entry.user.username) == (CHANGE, "ops@jopay.example")
    assert entry.get_change_message() == message


def test_a_chain_already_so_is_not_logged_again(operator, chain):
    operator.post(
        "/admin/payments/chain/",
        {"action": "enable", "_selected_action": [str(chain.pk)]},
    )

    assert not LogEntry.objects.exists()


# --- what a chain verifies against is on record ------------------------------

LOCAL_USDC = "0x5FbDB2315678afecb367f032d93F642f64180aa3"
OTHER_TOKEN = "0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512"


def test_a_chain_configured_in_the_admin_is_audited_with_its_token(operator):
    """The USDC contract and the confirmations decide which transfers verify
    as payments; the LogEntry said "Changed Usdc address" and no more."""
    chain = Chain.objects.create(
        chain_id=31337,
        name="Local",
        is_local=True,
        usdc_address=LOCAL_USDC,
        confirmations=1,
        rpc_urls=["http://127.0.0.1:1"],
    )

    url = f"/admin/payments/chain/{chain.pk}/change/"
    response = operator.post(
        url,
        {
            "loaded_as": drawn(operator, url),
            "name": "Local",
            "usdc_address": OTHER_TOKEN,
            "decimals": "6",
            "confirmations": "3",
            "kind": "local",
            "rpc_urls_text": "http://127.0.0.1:2",
            "public_rpc_url": "",
        },
    )

    assert response.status_code == 302, response.context["adminform"].form.errors
    entry = AuditEntry.objects.get(action="chain.configured")
    assert entry.partner is None
    assert (entry.actor_kind, entry.actor) == ("staff", "ops@jopay.example")
    assert entry.target == "31337"
    assert entry.details == {
        "changed": ["confirmations", "rpc_urls_text", "usdc_address"],
        "usdc_address": {"from": LOCAL_USDC, "into": OTHER_TOKEN},
        "confirmations": {"from": 1, "into": 3},
    }
    # RPC URLs may carry a provider's key: named as changed, never recorded.
    assert "127.0.0.1" not in str(entry.details)


def _edit(operator, chain, **changes):
    url = f"/admin/payments/chain/{chain.pk}/change/"
    form = {
        "loaded_as": drawn(operator, url),
        "name": chain.name,
        "usdc_address": chain.usdc_address,
        "decimals": "6",
        "confirmations": str(chain.confirmations),
        "kind": "testnet",
        "rpc_urls_text": "\n".join(chain.rpc_urls),
        "public_rpc_url": "",
        **changes,
    }
    return operator.post(url, form)


def test_an_edit_keeps_a_disabled_chain_disabled(operator, chain):
    # D19: the disable action stops new proofs; any later edit of the chain
    # (here its depth) switched it back on, with no record of that.
    operator.post(
        "/admin/payments/chain/",
        {"action": "disable", "_selected_action": [str(chain.pk)]},
    )
    assert _edit(operator, chain, confirmations="7").status_code == 302
    chain.refresh_from_db()
    assert (chain.confirmations, chain.enabled) == (7, False)


@pytest.mark.parametrize("url", ["http://[bad", "http://x:99999", "http://:80"])
def test_an_rpc_url_urlsplit_refuses_is_a_form_error_not_a_500(operator, chain, url):
    operator.raise_request_exception = False
    response = _edit(operator, chain, rpc_urls_text=url)
    assert response.status_code == 200
    assert "Not an http(s) URL" in str(response.context["adminform"].form.errors)


def test_a_page_drawn_before_the_rpc_urls_changed_does_not_put_them_back(
    operator, chain
):
    """An operator swapped the chain's RPC URLs (``configure_chain``, D31:
    say a provider key had leaked) while staff had the chain's page open;
    staff's Save, on the old values, put the old URLs back."""
    from tests.portal.test_admin_audit_trail import form_data

    url = f"/admin/payments/chain/{chain.pk}/change/"
    page = form_data(operator.get(url))
    Chain.objects.filter(pk=chain.pk).update(rpc_urls=["https://rpc.example/new"])

    response = operator.post(url, page)

    assert response.status_code == 200  # the form again, saying why
    assert "changed elsewhere" in response.content.decode()
    chain.refresh_from_db()
    assert chain.rpc_urls == ["https://rpc.example/new"]
