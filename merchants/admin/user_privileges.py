"""Who may do what to which account in the user admin.

Django's stock ``UserAdmin`` trusts anyone holding ``auth.change_user`` with
every account: they could tick "superuser" on their own row, give themselves
any group or permission, and set the password of a superuser, of a colleague
or of a partner's portal user (whose portal shows the webhook secret and
mints API keys). Here the account being edited decides:

**Superusers** keep the whole stock admin: every field of every account, every
password, deletion. Granting staff or superuser status, groups and
permissions is theirs alone, and so is defining groups (what a group holds):
other staff may only view groups. One limit holds for them too: an account
that has admin history is deactivated, not deleted (``LogEntry.user``
cascades, so the deletion erased every change that member of staff made).

**Other staff**, with the ``auth`` user permissions they were given:

* *portal users* (neither staff nor superuser): edit the name, e-mail,
  username and active flag, set or disable the password (account recovery:
  the portal has no self-service reset), delete. Never make them staff or
  give them groups or permissions;
* *their own account*: the name, e-mail and their own password; their
  username (the audit trail's name for them), staff flag, groups and
  permissions are shown read-only, so nobody grants
  themselves more (not even what they already hold: delegation would let one
  compromised support account equip others);
* *any other staff or superuser account*: view only. No edit, no password,
  no delete (also not through the changelist's bulk delete, which Django
  checks against the model permission only).

Every change of a portal user is in the admin's history (``LogEntry``: "Changed
password.", "Changed Email address.", deletions) and, since it is a change to a
partner's access, in that partner's audit trail (``merchants.audit``), which
the partner reads on its Activity page: ``portal_user.password_set``,
``portal_user.updated`` (the changed field names, and the old username when it
changed) and ``portal_user.deleted``. The password itself is never recorded.

A partner's page links users to it ("Partner users", ``PortalUserLinkFormSet``):
never a staff or superuser account, by anyone, and each link made or removed
is in the partner's trail too (``portal_user.added``, ``portal_user.removed``).
"""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.contrib.auth.forms import AdminPasswordChangeForm, UserChangeForm
from django.contrib.auth.models import Group, User
from django.db import transaction

from ..audit import audit_record
from ..models import PartnerUser
from ..partners import PORTAL_PASSWORD_MAX_LENGTH
from .stale_edits import StaleEditGuardForm
from .users import StaffGroupAdmin, StaffUserAdmin

PRIVILEGE_FIELDS = ("is_staff", "is_superuser", "groups", "user_permissions")
AUDITED_FIELDS = ("username", "email", "first_name", "last_name", "is_active")


def is_portal_account(user: User) -> bool:
    return not (user.is_staff or user.is_superuser)


def may_manage(actor: User, account: User) -> bool:
    """May ``actor`` (holding the model permission) change ``account``?"""
    return actor.is_superuser or actor.pk == account.pk or is_portal_account(account)


def may_delete(actor: User, account: User) -> bool:
    if not actor.is_superuser and (
        actor.pk == account.pk or not is_portal_account(account)
    ):
        return False
    # LogEntry.user cascades: the account's admin history would go with it.
    return not LogEntry.objects.filter(user=account).exists()


def _partner_of(user: User):
    link = PartnerUser.objects.select_related("partner").filter(user=user).first()
    return link.partner if link else None


class AuditedPasswordChangeForm(AdminPasswordChangeForm):
    """Records a portal user's new (or disabled) password in its partner's trail.

    A portal account's password is at most what the portal's sign-in form
    takes: a longer one was saved, and the user could never sign in with it.
    """

    def clean(self):
        cleaned = super().clean()
        password = cleaned.get("password1") or ""
        if is_portal_account(self.user) and len(password) > PORTAL_PASSWORD_MAX_LENGTH:
            self.add_error(
                "password1",
                forms.ValidationError(
                    f"A portal password has at most {PORTAL_PASSWORD_MAX_LENGTH} "
                    "characters: the portal's sign-in form takes no more.",
                    code="password_too_long",
                ),
            )
        return cleaned

    def save(self, commit: bool = True) -> User:
        with transaction.atomic():
            user = super().save(commit=commit)
            partner = _partner_of(user)
            if partner is not None:
                audit_record(
                    partner=partner,
                    action="portal_user.password_set",
                    target=user.get_username(),
                    details={"usable": user.has_usable_password()},
                )
        return user


class PortalUsernameChangeForm(StaleEditGuardForm, UserChangeForm):
    """A portal account's username is kept in lower case.

    The portal signs in with the e-mail as typed, lower-cased (its login
    form and SSO, D33, look the username up exactly so): a portal user
    renamed here to ``It@Alice.example`` could never sign in again, with any
    spelling. The uniqueness check runs on the lower-cased name.
    """

    # loaded_as (StaleEditGuardForm): saved on old values, a page opened
    # before a colleague deactivated the account switched it on again.
    stale_name = "account"

    def fingerprinted(self) -> list[str]:
        # Not last_login: the user signing in meanwhile is no conflict.
        return [n for n in self.fields if n not in ("password", "last_login")]

    def clean_username(self) -> str:
        username = self.cleaned_data.get("username")
        if username and is_portal_account(self.instance):
            return username.lower()
        return username


class PortalUserLinkFormSet(forms.BaseInlineFormSet):
    """A partner page's "Partner users" rows: who may sign in to its portal.

    A staff or superuser account is never linked, by anyone: linked, it
    opened ``/portal/`` as that partner (its webhook secret, which staff never
    see, D25; its API keys), as SSO refuses it (D33). Each row added, moved
    to another user or removed is in the partner's audit trail.
    """

    def clean(self) -> None:
        super().clean()
        for form in self.forms:
            user = getattr(form, "cleaned_data", {}).get("user")
            if (
                user is None
                or form.cleaned_data.get("DELETE")
                or "user" not in form.changed_data
            ):
                continue
            if not is_portal_account(user):
                form.add_error(
                    "user",
                    "A staff account cannot be a portal user: create a "
                    "separate login for the partner (create_partner_user).",
                )
            elif user.get_username() != user.get_username().lower():
                # The portal signs in lower-cased names only (PortalUsernameChangeForm).
                form.add_error(
                    "user",
                    "The portal signs in with a lower-case e-mail: change this "
                    "account's username to lower case first.",
                )

    def save_new(self, form, commit=True):
        link = super().save_new(form, commit=commit)
        self._audit(link, "portal_user.added", link.user)
        return link

    def save_existing(self, form, obj, commit=True):
        if "user" in form.changed_data:
            was = User.objects.filter(pk=form.initial.get("user")).first()
            if was is not None:
                self._audit(obj, "portal_user.removed", was)
            self._audit(obj, "portal_user.added", form.cleaned_data["user"])
        return super().save_existing(form, obj, commit=commit)

    def delete_existing(self, obj, commit=True):
        self._audit(obj, "portal_user.removed", obj.user)
        super().delete_existing(obj, commit=commit)

    @staticmethod
    def _audit(link: PartnerUser, action: str, user: User) -> None:
        audit_record(partner=link.partner, action=action, target=user.get_username())


class PrivilegeGuardedUserAdmin(StaffUserAdmin):
    form = PortalUsernameChangeForm
    change_password_form = AuditedPasswordChangeForm

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:
            return fieldsets
        (name, options), *rest = fieldsets  # loaded_as: hidden, on the first
        return [(name, {**options, "fields": [*options["fields"], "loaded_as"]}), *rest]

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            fields += [name for name in PRIVILEGE_FIELDS if name not in fields]
            if obj is not None and not is_portal_account(obj):
                # A staff username is who the audit trail names ("actor"):
                # renamed, the entries named an account that was gone.
                fields.append("username")
        return fields

    def has_change_permission(self, request, obj=None) -> bool:
        # Also guards the password view: UserAdmin asks this for the account.
        allowed = super().has_change_permission(request, obj)
        return allowed and (obj is None or may_manage(request.user, obj))

    def has_delete_permission(self, request, obj=None) -> bool:
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or may_delete(request.user, obj))

    def get_deleted_objects(self, objs, request):
        # The bulk action asks has_delete_permission without a row: an account
        # this user may not delete is named as missing a permission, so the
        # page refuses (403 on the confirming POST), as the single delete does.
        deleted, counts, perms_needed, protected = super().get_deleted_objects(
            objs, request
        )
        if any(not may_delete(request.user, account) for account in objs):
            perms_needed = {*perms_needed, self.opts.verbose_name}
        return deleted, counts, perms_needed, protected

    def save_model(self, request, obj: User, form, change: bool) -> None:
        # The privilege fields are read-only for non-superusers, so not in
        # their form: a crafted POST carrying them is ignored.
        super().save_model(request, obj, form, change)
        changed = set(form.changed_data) & set(AUDITED_FIELDS)
        if change and form.initial.get("username") != obj.get_username():
            changed.add("username")  # also when only lower-cased (clean_username)
        changed = sorted(changed)
        partner = _partner_of(obj) if change and changed else None
        if partner is not None:
            details = {"changed": changed}
            if "username" in changed:
                details["was"] = form.initial.get("username", "")
            audit_record(
                partner=partner,
                action="portal_user.updated",
                target=obj.get_username(),
                details=details,
            )

    def delete_model(self, request, obj: User) -> None:
        self._audit_deletion(obj)
        super().delete_model(request, obj)

    def delete_queryset(self, request, queryset) -> None:
        for account in queryset:
            self._audit_deletion(account)
        super().delete_queryset(request, queryset)

    def _audit_deletion(self, account: User) -> None:
        partner = _partner_of(account)
        if partner is not None:
            audit_record(
                partner=partner,
                action="portal_user.deleted",
                target=account.get_username(),
            )


class SuperuserGroupAdmin(StaffGroupAdmin):
    """Groups are roles: only superusers define them; other staff may look.

    Anyone holding ``auth.change_group`` could otherwise add every permission
    to a group they belong to (or to a colleague's).
    """

    def has_add_permission(self, request) -> bool:
        return request.user.is_superuser

    def has_change_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser


for model, model_admin in (
    (User, PrivilegeGuardedUserAdmin),
    (Group, SuperuserGroupAdmin),
):
    if admin.site.is_registered(model):
        admin.site.unregister(model)
    admin.site.register(model, model_admin)
