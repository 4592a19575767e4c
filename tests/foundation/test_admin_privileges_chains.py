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

from payments.models import Chain

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


@pytest.fixture
def chain() -> Chain:
    chain, _ = Chain.objects.update_or_create(
        chain_id=84532,
        defaults={
            "name": "Base Sepolia",
            "rpc_urls": ["https://sepolia.base.org"],
            "usdc_address": "0x036CbD53842c5426634e7929541eC2318f3dCF7e",
            "is_testnet": True,
            "enabled": True,
        },
    )
    return chain


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
