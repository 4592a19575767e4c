"""The user admin as a limited member of staff and as a superuser
(``merchants.admin.user_privileges``).

Django's stock ``UserAdmin`` lets anyone holding ``auth.change_user`` tick
"superuser" on their own account, give themselves any group or permission,
and set the password of any account: a superuser's, a colleague's, or a
partner's portal user's (whose portal reveals the webhook secret and mints
API keys). Each test below was a success on that admin.
"""

from __future__ import annotations

import pytest
from django.contrib.admin.models import CHANGE, DELETION, LogEntry
from django.contrib.auth.models import Group, Permission, User
from django.test import Client

from merchants.models import AuditEntry
from tests.factories import PartnerUserFactory
from tests.portal.conftest import logged_in

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"
NEW_PASSWORD = "another-long-passphrase-42"
USER_PERMS = ("view_user", "add_user", "change_user", "delete_user")


def staff_with(*codenames: str, username: str = "support@jopay.example") -> User:
    user = User.objects.create_user(
        username, email=username, password=PASSWORD, is_staff=True
    )
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    return user


@pytest.fixture
def support() -> User:
    """A member of staff who manages users and nothing else."""
    return staff_with(*USER_PERMS)


@pytest.fixture
def support_client(support) -> Client:
    client = Client()
    client.force_login(support)
    return client


@pytest.fixture
def root() -> User:
    return User.objects.create_superuser(
        "root@jopay.example", "root@jopay.example", PASSWORD
    )


@pytest.fixture
def root_client(root) -> Client:
    client = Client()
    client.force_login(root)
    return client


@pytest.fixture
def portal_user(partner) -> User:
    return PartnerUserFactory(partner=partner, user__username="ops@alice.example").user


def change_url(user: User) -> str:
    return f"/admin/auth/user/{user.pk}/change/"


def password_url(user: User) -> str:
    return f"/admin/auth/user/{user.pk}/password/"


def form_data(client: Client, user: User, **changes) -> dict:
    """The change form as its page (drawn for ``client``) posts it, with
    ``changes`` applied; with the hidden ``loaded_as`` (stale_edits), without
    which a change form refuses the save."""
    page = client.get(change_url(user))
    form = page.context["adminform"].form if page.status_code == 200 else None
    data = {
        "loaded_as": form["loaded_as"].value() if form else "",
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_active": "on" if user.is_active else "",
        "is_staff": "on" if user.is_staff else "",
        "is_superuser": "on" if user.is_superuser else "",
        "groups": [str(g.pk) for g in user.groups.all()],
        "user_permissions": [str(p.pk) for p in user.user_permissions.all()],
        "last_login_0": "",
        "last_login_1": "",
        "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v not in ("", None)}


def set_password(client: Client, user: User, password: str = NEW_PASSWORD):
    return client.post(
        password_url(user),
        {"usable_password": "true", "password1": password, "password2": password},
    )


# --- a limited member of staff cannot raise anyone's privileges ------------


def test_staff_cannot_make_themselves_superuser(support_client, support):
    support_client.post(
        change_url(support), form_data(support_client, support, is_superuser="on")
    )

    support.refresh_from_db()
    assert not support.is_superuser


def test_staff_cannot_give_themselves_a_permission(support_client, support):
    everything = [str(p.pk) for p in Permission.objects.all()]
    support_client.post(
        change_url(support),
        form_data(support_client, support, user_permissions=everything),
    )

    assert set(support.user_permissions.values_list("codename", flat=True)) == set(
        USER_PERMS
    )


def test_staff_cannot_join_a_group(support_client, support):
    admins = Group.objects.create(name="admins")
    admins.permissions.set(Permission.objects.all())
    support_client.post(
        change_url(support), form_data(support_client, support, groups=[str(admins.pk)])
    )

    assert not support.groups.exists()


def test_staff_cannot_make_a_portal_user_staff(support_client, portal_user):
    response = support_client.post(
        change_url(portal_user), form_data(support_client, portal_user, is_staff="on")
    )

    assert response.status_code == 302  # the rest of the form saves
    portal_user.refresh_from_db()
    assert not portal_user.is_staff


def test_staff_cannot_create_a_superuser(support_client):
    support_client.post(
        "/admin/auth/user/add/",
        {
            "username": "mole@jopay.example",
            "usable_password": "true",
            "password1": NEW_PASSWORD,
            "password2": NEW_PASSWORD,
            # Not on the add form: a crafted POST.
            "is_superuser": "on",
            "is_staff": "on",
        },
    )
    mole = User.objects.get(username="mole@jopay.example")
    assert not mole.is_superuser
    assert not mole.is_staff


def test_the_privilege_fields_are_shown_read_only(support_client, support):
    page = support_client.get(change_url(support)).content.decode()

    assert 'name="is_superuser"' not in page
    assert 'name="is_staff"' not in page
    assert 'name="groups"' not in page
    assert 'name="user_permissions"' not in page
    assert 'name="first_name"' in page  # their own name stays theirs to edit


# --- superuser and staff accounts are not theirs to touch --------------------


def test_staff_cannot_set_a_superusers_password(support_client, root):
    response = set_password(support_client, root)

    assert response.status_code == 403
    root.refresh_from_db()
    assert root.check_password(PASSWORD)


def test_staff_cannot_set_a_colleagues_password(support_client):
    colleague = staff_with("view_paymentrequest", username="colleague@jopay.example")

    response = set_password(support_client, colleague)

    assert response.status_code == 403
    colleague.refresh_from_db()
    assert colleague.check_password(PASSWORD)


def test_staff_cannot_edit_a_superuser(support_client, root):
    response = support_client.post(
        change_url(root),
        form_data(support_client, root, email="mole@evil.example", is_active=""),
    )

    assert response.status_code == 403
    root.refresh_from_db()
    assert root.email == "root@jopay.example"
    assert root.is_active


def test_staff_cannot_edit_a_colleague(support_client):
    colleague = staff_with("view_paymentrequest", username="colleague@jopay.example")

    response = support_client.post(
        change_url(colleague), form_data(support_client, colleague, is_active="")
    )

    assert response.status_code == 403
    colleague.refresh_from_db()
    assert colleague.is_active
    # Still visible: support may look a colleague up.
    assert support_client.get(change_url(colleague)).status_code == 200


def test_staff_cannot_delete_a_superuser(support_client, root):
    response = support_client.post(
        f"/admin/auth/user/{root.pk}/delete/", {"post": "yes"}
    )

    assert response.status_code == 403
    assert User.objects.filter(pk=root.pk).exists()


def test_staff_cannot_bulk_delete_a_superuser(support_client, root, portal_user):
    # The changelist action checks the model permission only, not each row.
    response = support_client.post(
        "/admin/auth/user/",
        {
            "action": "delete_selected",
            "_selected_action": [str(root.pk), str(portal_user.pk)],
            "post": "yes",
        },
    )

    assert response.status_code == 403
    assert User.objects.filter(pk__in=[root.pk, portal_user.pk]).count() == 2


def test_staff_cannot_delete_a_colleague_nor_themselves(support_client, support):
    colleague = staff_with(username="colleague@jopay.example")
    for target in (colleague, support):
        response = support_client.post(
            f"/admin/auth/user/{target.pk}/delete/", {"post": "yes"}
        )
        assert response.status_code == 403
    assert User.objects.filter(pk__in=[colleague.pk, support.pk]).count() == 2


# --- what a limited member of staff still does -------------------------------


def test_staff_may_set_a_portal_users_password_which_is_logged(
    support_client, portal_user, partner
):
    """Account recovery: the portal has no self-service reset. The partner
    sees who did it on its Activity page; the admin log has it too."""
    response = set_password(support_client, portal_user)

    assert response.status_code == 302
    portal_user.refresh_from_db()
    assert portal_user.check_password(NEW_PASSWORD)
    entry = LogEntry.objects.get(object_id=str(portal_user.pk))
    assert entry.action_flag == CHANGE
    assert entry.user.username == "support@jopay.example"
    assert "password" in entry.get_change_message().lower()
    audit = AuditEntry.objects.get(partner=partner, action="portal_user.password_set")
    assert (audit.actor_kind, audit.actor) == ("staff", "support@jopay.example")
    assert audit.target == "ops@alice.example"
    assert NEW_PASSWORD not in str(audit.details)


def test_staff_may_change_a_portal_users_email_which_is_logged(
    support_client, portal_user, partner
):
    response = support_client.post(
        change_url(portal_user),
        form_data(
            support_client,
            portal_user,
            username="it@alice.example",
            email="it@alice.example",
        ),
    )

    assert response.status_code == 302
    portal_user.refresh_from_db()
    assert portal_user.email == "it@alice.example"
    entry = LogEntry.objects.get(object_id=str(portal_user.pk))
    assert "Email" in entry.get_change_message()
    audit = AuditEntry.objects.get(partner=partner, action="portal_user.updated")
    assert audit.actor == "support@jopay.example"
    assert audit.target == "it@alice.example"
    assert audit.details == {
        "changed": ["email", "username"],
        "was": "ops@alice.example",
    }


def test_staff_may_delete_a_portal_user_which_is_logged(
    support_client, portal_user, partner
):
    response = support_client.post(
        f"/admin/auth/user/{portal_user.pk}/delete/", {"post": "yes"}
    )

    assert response.status_code == 302
    assert not User.objects.filter(pk=portal_user.pk).exists()
    assert LogEntry.objects.filter(action_flag=DELETION).count() == 1
    audit = AuditEntry.objects.get(partner=partner, action="portal_user.deleted")
    assert audit.target == "ops@alice.example"


def test_staff_may_change_their_own_password(support_client, support):
    assert set_password(support_client, support).status_code == 302
    support.refresh_from_db()
    assert support.check_password(NEW_PASSWORD)


# --- a superuser keeps the whole stock admin ---------------------------------


def test_a_superuser_grants_staff_superuser_and_permissions(root_client, portal_user):
    perm = Permission.objects.get(codename="view_paymentrequest")
    response = root_client.post(
        change_url(portal_user),
        form_data(
            root_client,
            portal_user,
            is_staff="on",
            is_superuser="on",
            user_permissions=[str(perm.pk)],
        ),
    )

    assert response.status_code == 302
    portal_user.refresh_from_db()
    assert portal_user.is_staff
    assert portal_user.is_superuser
    assert list(portal_user.user_permissions.all()) == [perm]


def test_a_superuser_sets_anyones_password_and_deletes_staff(root_client, support):
    assert set_password(root_client, support).status_code == 302
    support.refresh_from_db()
    assert support.check_password(NEW_PASSWORD)

    response = root_client.post(
        f"/admin/auth/user/{support.pk}/delete/", {"post": "yes"}
    )
    assert response.status_code == 302
    assert not User.objects.filter(pk=support.pk).exists()


# --- groups are roles: only superusers define them ---------------------------

GROUP_PERMS = ("view_group", "add_group", "change_group", "delete_group")


@pytest.fixture
def group_keeper() -> tuple[Client, Group]:
    """Staff in a "support" group whose only permissions are the group ones."""
    support_group = Group.objects.create(name="support")
    support_group.permissions.set(Permission.objects.filter(codename__in=GROUP_PERMS))
    user = staff_with(username="groups@jopay.example")
    user.groups.add(support_group)
    client = Client()
    client.force_login(user)
    return client, support_group


def test_staff_cannot_add_permissions_to_their_own_group(group_keeper):
    client, support_group = group_keeper
    everything = [str(p.pk) for p in Permission.objects.all()]

    response = client.post(
        f"/admin/auth/group/{support_group.pk}/change/",
        {"name": "support", "permissions": everything},
    )

    assert response.status_code == 403
    assert support_group.permissions.count() == len(GROUP_PERMS)


def test_staff_cannot_create_or_delete_a_group(group_keeper):
    client, support_group = group_keeper
    everything = [str(p.pk) for p in Permission.objects.all()]

    added = client.post(
        "/admin/auth/group/add/", {"name": "all", "permissions": everything}
    )
    deleted = client.post(
        f"/admin/auth/group/{support_group.pk}/delete/", {"post": "yes"}
    )

    assert (added.status_code, deleted.status_code) == (403, 403)
    assert list(Group.objects.values_list("name", flat=True)) == ["support"]
    # Still theirs to look at.
    assert (
        client.get(f"/admin/auth/group/{support_group.pk}/change/").status_code == 200
    )


def test_a_superuser_edits_groups(root_client):
    response = root_client.post(
        "/admin/auth/group/add/",
        {"name": "support", "permissions": [str(Permission.objects.first().pk)]},
    )

    assert response.status_code == 302
    assert Group.objects.get(name="support").permissions.count() == 1


def test_an_account_with_admin_history_is_deactivated_not_deleted(
    root_client, support_client, support, portal_user
):
    """``LogEntry.user`` cascades: deleting a member of staff erased every
    change they had made from the admin's history."""
    set_password(support_client, portal_user)  # one LogEntry by support
    assert LogEntry.objects.filter(user=support).count() == 1

    single = root_client.post(f"/admin/auth/user/{support.pk}/delete/", {"post": "yes"})
    bulk = root_client.post(
        "/admin/auth/user/",
        {
            "action": "delete_selected",
            "_selected_action": [str(support.pk)],
            "post": "yes",
        },
    )

    assert (single.status_code, bulk.status_code) == (403, 403)
    assert LogEntry.objects.filter(user=support).count() == 1


def test_staff_cannot_rename_themselves(support_client, support, portal_user):
    """The partner's trail names staff by username: after a rename the entry
    for a password set named an account that no longer existed."""
    response = support_client.post(
        change_url(support),
        form_data(support_client, support, username="someone-else", first_name="Sam"),
    )

    assert response.status_code == 302
    support.refresh_from_db()
    assert (support.username, support.first_name) == ("support@jopay.example", "Sam")


def test_the_partner_reads_who_set_its_users_password(
    support_client, portal_user, partner
):
    colleague = PartnerUserFactory(partner=partner)
    set_password(support_client, portal_user)

    page = logged_in(colleague).get("/portal/activity/").content.decode()

    assert "portal_user.password_set" in page
    assert "JoPay staff" in page
    assert "support@jopay.example" in page
    assert NEW_PASSWORD not in page


def test_a_portal_user_renamed_with_capitals_can_still_sign_in(
    support_client, portal_user, partner
):
    """The portal signs in with the typed e-mail lower-cased (login form and
    SSO, D33); a username stored as typed here, ``IT@Alice.example``, locked
    the partner's user out for good."""
    portal_user.set_password(NEW_PASSWORD)
    portal_user.save()

    response = support_client.post(
        change_url(portal_user),
        form_data(
            support_client,
            portal_user,
            username="IT@Alice.example",
            email="it@alice.example",
        ),
    )

    assert response.status_code == 302
    portal_user.refresh_from_db()
    assert portal_user.username == "it@alice.example"
    signed_in = Client().post(
        "/portal/login/", {"email": "IT@Alice.example", "password": NEW_PASSWORD}
    )
    assert signed_in.status_code == 302
    assert signed_in["Location"] == "/portal/"


def test_renaming_onto_another_users_name_in_other_case_is_a_form_error(
    support_client, portal_user, partner
):
    PartnerUserFactory(partner=partner, user__username="it@alice.example")

    response = support_client.post(
        change_url(portal_user),
        form_data(support_client, portal_user, username="IT@alice.example"),
    )

    assert response.status_code == 200  # the form again, with the error
    portal_user.refresh_from_db()
    assert portal_user.username == "ops@alice.example"


def test_a_capitalised_username_lower_cased_on_save_is_in_the_trail(
    support_client, portal_user, partner
):
    User.objects.filter(pk=portal_user.pk).update(username="Ops@Alice.example")
    portal_user.refresh_from_db()

    response = support_client.post(
        change_url(portal_user),
        form_data(support_client, portal_user, first_name="Olga"),
    )

    assert response.status_code == 302
    portal_user.refresh_from_db()
    assert portal_user.username == "ops@alice.example"
    audit = AuditEntry.objects.get(partner=partner, action="portal_user.updated")
    assert audit.details == {
        "changed": ["first_name", "username"],
        "was": "Ops@Alice.example",
    }


def test_a_page_drawn_before_a_colleague_deactivated_the_account_keeps_it_off(
    support_client, portal_user
):
    """A colleague deactivated a portal user (a leaked password, say) while
    this page was open; saving it on its old values switched the account on
    again. A page drawn from an older row is refused (stale_edits)."""
    page = support_client.get(change_url(portal_user))
    drawn = page.context["adminform"].form["loaded_as"].value()
    User.objects.filter(pk=portal_user.pk).update(is_active=False)  # colleague

    response = support_client.post(
        change_url(portal_user),
        form_data(
            support_client, portal_user, first_name="Olga", loaded_as=drawn
        ),  # as drawn
    )

    assert response.status_code == 200  # the form again, saying why
    assert "changed elsewhere" in response.content.decode()
    portal_user.refresh_from_db()
    assert (portal_user.is_active, portal_user.first_name) == (False, "")
