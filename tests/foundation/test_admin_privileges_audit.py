"""A payout address changed by staff is on record, with both addresses.

``AuditedChangesMixin`` kept only the names of the changed fields and said
"a wallet or a limit is in the admin's own history", but the admin's
``LogEntry`` keeps names too (``[{"changed": {"fields": ["Wallet address"]}}]``):
a member of staff could point a merchant's wallet at their own address and
back, and neither record said which address had received the payments.
"""

from __future__ import annotations

import pytest
from django.contrib.admin.models import LogEntry

from merchants.models import AuditEntry
from tests.factories import WALLET, PartnerUserFactory
from tests.portal.conftest import logged_in
from tests.portal.test_admin_audit_trail import form_data

pytestmark = pytest.mark.django_db

ELSEWHERE = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"


def test_a_wallet_changed_in_the_admin_records_both_addresses(admin_client, merchant):
    url = f"/admin/merchants/merchant/{merchant.pk}/change/"
    data = form_data(admin_client.get(url))
    data["wallet_address"] = ELSEWHERE

    assert admin_client.post(url, data).status_code == 302

    entry = AuditEntry.objects.get(action="merchant.updated")
    assert entry.actor_kind == "staff"
    assert entry.details == {
        "changed": ["wallet_address"],
        "wallet_address": {"from": WALLET, "into": ELSEWHERE},
    }
    assert LogEntry.objects.count() == 1
    # The partner reads it on its Activity page.
    page = (
        logged_in(PartnerUserFactory(partner=merchant.partner))
        .get("/portal/activity/")
        .content.decode()
    )
    assert f"from: {WALLET}, into: {ELSEWHERE}" in page


def test_other_fields_still_record_their_names_only(admin_client, merchant):
    url = f"/admin/merchants/merchant/{merchant.pk}/change/"
    data = form_data(admin_client.get(url))
    data["phone"] = "+49 30 1234567"

    assert admin_client.post(url, data).status_code == 302

    entry = AuditEntry.objects.get(action="merchant.updated")
    assert entry.details == {"changed": ["phone"]}
