"""Who a partner's page may give portal access to (the "Partner users" inline).

A member of staff holding the partner permissions linked their own staff
account to any partner there and opened ``/portal/`` as that partner: its
webhook secret (which staff never see, D25), its API keys. The link was not
in the partner's audit trail either, so the partner never learnt that a new
login could act for it.
"""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client

from merchants.models import AuditEntry, PartnerUser
from tests.factories import PartnerUserFactory, UserFactory
from tests.portal.test_admin_audit_trail import form_data

pytestmark = pytest.mark.django_db

PARTNER_PERMS = (
    "view_partner",
    "change_partner",
    "view_partneruser",
    "add_partneruser",
    "change_partneruser",
    "delete_partneruser",
)


@pytest.fixture
def support() -> User:
    user = User.objects.create_user(
        "support@jopay.example", password="x" * 12, is_staff=True
    )
    user.user_permissions.set(Permission.objects.filter(codename__in=PARTNER_PERMS))
    return user


@pytest.fixture
def support_client(support) -> Client:
    client = Client()
    client.force_login(support)
    return client


def post_with_rows(client: Client, partner, rows: list[dict]):
    """The partner's change form as drawn, with ``rows`` as its inline rows."""
    url = f"/admin/merchants/partner/{partner.pk}/change/"
    data = form_data(client.get(url))
    initial = int(data["users-INITIAL_FORMS"])
    for i, row in enumerate(rows):
        data.update({f"users-{i}-{k}": v for k, v in row.items()})
        data[f"users-{i}-partner"] = str(partner.pk)
    data["users-TOTAL_FORMS"] = str(max(len(rows), initial))
    return client.post(url, data)


def test_staff_cannot_link_their_own_account_to_a_partner(
    support_client, support, partner
):
    response = post_with_rows(support_client, partner, [{"user": str(support.pk)}])

    assert response.status_code == 200  # the form comes back with the error
    assert "staff account" in response.content.decode()
    assert not PartnerUser.objects.filter(user=support).exists()
    # The portal stays closed to them: the staff page, not the partner's.
    page = support_client.get("/portal/")
    assert page.status_code == 403


def test_nor_a_superusers_account(support_client, partner):
    root = User.objects.create_superuser("root@jopay.example", "r@x.example", "x" * 12)

    response = post_with_rows(support_client, partner, [{"user": str(root.pk)}])

    assert response.status_code == 200
    assert not PartnerUser.objects.filter(user=root).exists()


def test_nor_repoint_an_existing_row_to_a_staff_account(
    support_client, support, partner
):
    link = PartnerUserFactory(partner=partner)

    response = post_with_rows(
        support_client, partner, [{"id": str(link.pk), "user": str(support.pk)}]
    )

    assert response.status_code == 200
    link.refresh_from_db()
    assert link.user != support


def test_linking_a_portal_user_is_in_the_partners_audit_trail(support_client, partner):
    newcomer = UserFactory(username="finance@alice.example")

    response = post_with_rows(support_client, partner, [{"user": str(newcomer.pk)}])

    assert response.status_code == 302
    assert PartnerUser.objects.get(user=newcomer).partner == partner
    entry = AuditEntry.objects.get(partner=partner, action="portal_user.added")
    assert (entry.actor_kind, entry.actor) == ("staff", "support@jopay.example")
    assert entry.target == "finance@alice.example"


def test_removing_a_portal_user_is_in_the_partners_audit_trail(support_client, partner):
    link = PartnerUserFactory(partner=partner, user__username="gone@alice.example")

    response = post_with_rows(
        support_client,
        partner,
        [{"id": str(link.pk), "user": str(link.user.pk), "DELETE": "on"}],
    )

    assert response.status_code == 302
    assert not PartnerUser.objects.filter(pk=link.pk).exists()
    entry = AuditEntry.objects.get(partner=partner, action="portal_user.removed")
    assert entry.target == "gone@alice.example"


def test_an_account_the_portal_cannot_sign_in_is_not_linked(support_client, partner):
    """The portal looks up the typed e-mail lower-cased (D33): linked, an
    account named ``Finance@Alice.example`` could never sign in."""
    newcomer = UserFactory(username="Finance@Alice.example")

    response = post_with_rows(support_client, partner, [{"user": str(newcomer.pk)}])

    assert response.status_code == 200  # the form comes back with the error
    assert "lower case" in response.content.decode()
    assert not PartnerUser.objects.filter(user=newcomer).exists()
