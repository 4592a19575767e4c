"""Admin actions change state through services and leave a LogEntry naming who.

The chain registry's enable and disable actions ran a raw ``queryset.update()``:
a chain switched off (no new proofs on it, D19) left no record of who did it.
The other actions' entries are checked in tests/portal/test_admin_audit.py.
"""

from __future__ import annotations

import pytest
from django.contrib.admin.models import CHANGE, LogEntry

from payments.models import Chain
from tests.portal.test_admin import run_action

pytestmark = pytest.mark.django_db
CHAINS = "/admin/payments/chain/"


@pytest.fixture
def chain(db) -> Chain:
    return Chain.objects.create(
        chain_id=31337, name="Local", is_local=True, rpc_urls=["http://127.0.0.1:1"]
    )


def entries(chain) -> list[tuple[str, int, str]]:
    return [
        (e.user.username, e.action_flag, e.change_message)
        for e in LogEntry.objects.filter(object_id=str(chain.pk)).order_by("id")
    ]


def test_switching_a_chain_off_and_on_is_logged_once_per_change(admin_client, chain):
    run_action(admin_client, CHAINS, "disable", [chain.pk])
    run_action(admin_client, CHAINS, "disable", [chain.pk])  # a repeat: no change
    chain.refresh_from_db()
    assert chain.enabled is False
    page = run_action(admin_client, CHAINS, "enable", [chain.pk])
    chain.refresh_from_db()
    assert chain.enabled is True
    assert "Enabled 1 chain(s)." in page.content.decode()
    assert entries(chain) == [
        ("admin", CHANGE, "Disabled the chain"),
        ("admin", CHANGE, "Enabled the chain"),
    ]
