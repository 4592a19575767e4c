"""D21: staff attach a proof in the admin (source ``admin``) via ``proof_attach``."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission

from tests.portal.conftest import make_request
from tests.portal.test_admin import CHANGELIST, TX, texts
from webhooks.models import WebhookEvent

pytestmark = pytest.mark.django_db


def attach_url(pr) -> str:
    return f"{CHANGELIST}{pr.pk}/attach-proof/"


def test_the_change_page_links_to_the_attach_form(admin_client, test_merchant, chain):
    pr = make_request(test_merchant)
    page = admin_client.get(f"{CHANGELIST}{pr.pk}/change/")
    assert attach_url(pr).encode() in page.content
    form = admin_client.get(attach_url(pr))
    assert form.status_code == 200
    assert b'name="tx_hash"' in form.content
    assert f'value="{chain.chain_id}"'.encode() in form.content  # usable in test mode


def test_staff_attach_records_an_admin_proof_and_its_event(
    admin_client, test_merchant, chain
):
    pr = make_request(test_merchant)
    response = admin_client.post(
        attach_url(pr), {"chain_id": str(chain.chain_id), "tx_hash": TX}, follow=True
    )
    assert any("proof attached" in t for t in texts(response))
    pr.refresh_from_db()
    assert (pr.proof_status, pr.proof_source, pr.tx_hash) == ("attached", "admin", TX)
    event = WebhookEvent.objects.get(request_id=pr.pk)
    assert event.type == "payment.proof_attached"
    assert event.payload["proof_source"] == "admin"


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"chain_id": "31337", "tx_hash": "0x12"}, "invalid_tx_hash"),
        ({"chain_id": "1", "tx_hash": TX}, "unsupported_chain"),  # mainnet, test mode
    ],
)
def test_a_bad_proof_is_reported_and_nothing_is_written(
    admin_client, test_merchant, chain, fields, code
):
    pr = make_request(test_merchant)
    response = admin_client.post(attach_url(pr), fields)
    assert response.status_code == 200  # the form again
    assert any(code in t for t in texts(response))
    # As rendered, lower-case as in errors.md: Django's admin capitalised a
    # message's first letter (templates/admin/base_site.html shows it as is).
    assert code.encode() in response.content
    pr.refresh_from_db()
    assert pr.proof_status == "none"
    assert not WebhookEvent.objects.filter(request_id=pr.pk).exists()


def test_a_missing_or_malformed_id_is_404(admin_client):
    assert admin_client.get(f"{CHANGELIST}not-a-uuid/attach-proof/").status_code == 404
    missing = "3f1c1a52-7d0e-4a51-9d8f-3f3f3f3f3f3f"
    assert admin_client.post(f"{CHANGELIST}{missing}/attach-proof/").status_code == 404


def test_staff_without_the_change_permission_cannot_attach(
    client, test_merchant, chain
):
    viewer = get_user_model().objects.create_user("viewer", password="x", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_paymentrequest"))
    client.force_login(viewer)
    pr = make_request(test_merchant)
    response = client.post(
        attach_url(pr), {"chain_id": str(chain.chain_id), "tx_hash": TX}
    )
    assert response.status_code == 403
    pr.refresh_from_db()
    assert pr.proof_status == "none"


def test_the_hash_already_being_checked_is_not_claimed_as_staffs(
    admin_client, test_merchant, chain
):
    # proof_attach answers the same attached proof as a no-op (no event, the
    # customer's source kept); the page said "proof attached" and logged
    # "Attached proof …" under the staff user, who had changed nothing.
    from django.contrib.admin.models import LogEntry

    from payments.proofs.services import proof_attach

    pr = make_request(test_merchant)
    proof_attach(request=pr, chain_id=chain.chain_id, tx_hash=TX, source="customer")
    response = admin_client.post(
        attach_url(pr), {"chain_id": str(chain.chain_id), "tx_hash": TX}, follow=True
    )
    assert texts(response) == [
        f"{pr.reference}: that proof is already being checked (source customer);"
        " nothing changed."
    ]
    assert not LogEntry.objects.filter(object_id=str(pr.pk)).exists()
    pr.refresh_from_db()
    assert (pr.proof_status, pr.proof_source) == ("attached", "customer")
