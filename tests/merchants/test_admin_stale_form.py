"""A change page opened before someone else's edit cannot save over it (D28, D35).

The page posts back every field as it drew them. A wallet the merchant set on
the onboarding page after staff opened the page came back empty, Django read
that as staff's change, and the save undid the onboarding (the used link came
back to life). Partner settings edited in the portal meanwhile were reverted
the same way. Now the form is sent back, unsaved, until the page is reloaded.
"""

from __future__ import annotations

import pytest

from merchants.admin.stale_edits import FIELD
from merchants.models import Merchant, Partner
from tests.factories import WALLET, MerchantFactory
from tests.merchants.test_admin import change_form_data, form_errors

pytestmark = pytest.mark.django_db


def _opened(client, obj) -> tuple[str, dict]:
    url = f"/admin/merchants/{obj._meta.model_name}/{obj.pk}/change/"
    page = client.get(url)
    assert page.status_code == 200
    return url, change_form_data(page)


def _stale(response) -> bool:
    errors = form_errors(response).get("__all__", [])
    return any("changed elsewhere" in e and "Nothing was saved" in e for e in errors)


def test_onboarding_done_after_the_page_opened_is_not_undone(admin_client, partner):
    merchant = MerchantFactory(
        partner=partner,
        test_mode=False,
        wallet_address="",
        onboarding_status=Merchant.OnboardingStatus.INCOMPLETE,
    )
    url, data = _opened(admin_client, merchant)
    assert data[FIELD]
    # The merchant finishes onboarding while staff types.
    Merchant.objects.filter(pk=merchant.pk).update(
        wallet_address=WALLET, onboarding_status=Merchant.OnboardingStatus.COMPLETE
    )

    data["display_name"] = "Mia's Bakery"
    response = admin_client.post(url, data)
    assert _stale(response)
    # Sent again as it was (the form came back with the old fingerprint): still no.
    again = change_form_data(response)
    assert _stale(admin_client.post(url, again))

    merchant.refresh_from_db()
    assert merchant.wallet_address == WALLET
    assert merchant.onboarding_status == Merchant.OnboardingStatus.COMPLETE
    assert merchant.display_name != "Mia's Bakery"

    # Reloaded, the same edit saves, over the current row.
    url, data = _opened(admin_client, merchant)
    data["display_name"] = "Mia's Bakery"
    assert admin_client.post(url, data).status_code == 302
    merchant.refresh_from_db()
    assert (merchant.display_name, merchant.wallet_address) == ("Mia's Bakery", WALLET)


def test_a_post_without_the_fingerprint_is_refused(admin_client, partner):
    merchant = MerchantFactory(partner=partner, test_mode=False, country="DE")
    url, data = _opened(admin_client, merchant)
    data.pop(FIELD)
    data["country"] = "FR"
    assert _stale(admin_client.post(url, data))
    merchant.refresh_from_db()
    assert merchant.country == "DE"


def test_an_unrelated_write_meanwhile_does_not_block_the_edit(admin_client, partner):
    """Only the fields on the page count: a worker stamping a read-only column
    (the onboarding e-mail) is no conflict."""
    merchant = MerchantFactory(partner=partner, test_mode=False, country="DE")
    url, data = _opened(admin_client, merchant)
    Merchant.objects.filter(pk=merchant.pk).update(onboarding_email_tries=3)
    data["country"] = "FR"
    response = admin_client.post(url, data)
    assert response.status_code == 302, form_errors(response)
    merchant.refresh_from_db()
    assert (merchant.country, merchant.onboarding_email_tries) == ("FR", 3)


def test_partner_settings_changed_in_the_portal_meanwhile_are_not_reverted(
    admin_client, partner
):
    url, data = _opened(admin_client, partner)
    Partner.objects.filter(pk=partner.pk).update(pos_expiry_seconds=900)

    data["name"] = "Renamed by staff"
    assert _stale(admin_client.post(url, data))
    partner.refresh_from_db()
    assert partner.pos_expiry_seconds == 900
    assert partner.name != "Renamed by staff"


@pytest.mark.django_db(transaction=True)
def test_partner_settings_committed_during_the_post_are_kept(
    admin_client, partner, monkeypatch
):
    """The row read for the POST, then a portal change, then the save: only the
    field staff changed is written."""
    from merchants.admin.partners import PartnerAdmin
    from tests.portal.test_admin_readonly import committed_elsewhere

    original = PartnerAdmin.get_object

    def get_object(self, request, object_id, from_field=None):
        obj = original(self, request, object_id, from_field)
        if request.method == "POST":
            committed_elsewhere(
                lambda: Partner.objects.filter(pk=partner.pk).update(
                    pos_expiry_seconds=900
                )
            )
        return obj

    monkeypatch.setattr(PartnerAdmin, "get_object", get_object)
    url, data = _opened(admin_client, partner)
    data["name"] = "Renamed by staff"
    assert admin_client.post(url, data).status_code == 302
    partner.refresh_from_db()
    assert (partner.name, partner.pos_expiry_seconds) == ("Renamed by staff", 900)
