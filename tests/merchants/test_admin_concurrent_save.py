"""Saving a merchant's admin page writes only what staff changed (D28, D17).

The change form wrote every column back as read when the POST began, so a
wallet the merchant set on the onboarding page, an onboarding e-mail the
worker stamped as sent, or a PATCH committed meanwhile was silently undone:
the merchant lost its wallet (its link came back to life) and got its e-mail
again. The interleaving is forced: the other write commits on another
connection after the admin read the row and before it saves.
"""

from __future__ import annotations

import pytest
from django.utils import timezone

from merchants.admin.merchants import MerchantAdmin
from merchants.models import Merchant
from merchants.onboarding_links import issue_link_fields
from tests.factories import WALLET, MerchantFactory
from tests.merchants.test_admin import post_change
from tests.portal.test_admin_readonly import committed_elsewhere

pytestmark = pytest.mark.django_db(transaction=True)


def _incomplete(partner) -> Merchant:
    merchant = MerchantFactory(
        partner=partner,
        test_mode=False,
        wallet_address="",
        onboarding_status=Merchant.OnboardingStatus.INCOMPLETE,
        email="mia@example.com",
        onboarding_email_due=True,
    )
    issue_link_fields(merchant, timezone.now())
    merchant.save()
    return merchant


def _commit_during_post(monkeypatch, work) -> None:
    original = MerchantAdmin.get_object

    def get_object(self, request, object_id, from_field=None):
        obj = original(self, request, object_id, from_field)
        if request.method == "POST":
            committed_elsewhere(work)  # after the read, before the save
        return obj

    monkeypatch.setattr(MerchantAdmin, "get_object", get_object)


def test_an_edit_cannot_undo_an_onboarding_completed_meanwhile(
    admin_client, partner, monkeypatch
):
    merchant = _incomplete(partner)
    sent_at = timezone.now()

    def onboarded_and_mailed():
        Merchant.objects.filter(pk=merchant.pk).update(
            wallet_address=WALLET,
            wallet_type=Merchant.WalletType.EXTERNAL,
            onboarding_status=Merchant.OnboardingStatus.COMPLETE,
            onboarding_token_hash="",
            onboarding_token_expires_at=None,
            onboarding_email_sent_at=sent_at,
        )

    _commit_during_post(monkeypatch, onboarded_and_mailed)

    response = post_change(admin_client, merchant, display_name="Mia's Bakery")

    assert response.status_code == 302, response.content[:2000]
    merchant.refresh_from_db()
    assert merchant.display_name == "Mia's Bakery"  # the staff edit is saved
    assert merchant.wallet_address == WALLET  # the merchant's wallet stays
    assert merchant.onboarding_status == Merchant.OnboardingStatus.COMPLETE
    assert merchant.onboarding_token_hash == ""  # the link stays burnt
    assert merchant.onboarding_email_sent_at == sent_at  # not mailed again


def test_an_edit_cannot_undo_a_patch_committed_meanwhile(
    admin_client, partner, monkeypatch
):
    merchant = MerchantFactory(partner=partner, test_mode=False, country="DE")
    _commit_during_post(
        monkeypatch,
        lambda: Merchant.objects.filter(pk=merchant.pk).update(
            business_name="Patched GmbH", disabled=True
        ),
    )

    response = post_change(admin_client, merchant, country="FR")

    assert response.status_code == 302
    merchant.refresh_from_db()
    assert (merchant.country, merchant.business_name, merchant.disabled) == (
        "FR",
        "Patched GmbH",
        True,
    )
