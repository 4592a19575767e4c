"""Django's user and group admins with the project's changelist lookup checks.

Staff and portal users are Django's own ``User`` rows (and ``Group`` for staff
permissions); their stock admins are kept as they are, plus
``DatePartLookupsCheckedMixin``: ``?date_joined__year=-1`` was a 500 there as
on every other changelist, and so was ``?name=%00`` (a NUL in any lookup).
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group, User

from jopay_project.admin_lookups import DatePartLookupsCheckedMixin


class StaffUserAdmin(DatePartLookupsCheckedMixin, UserAdmin):
    pass


class StaffGroupAdmin(DatePartLookupsCheckedMixin, GroupAdmin):
    pass


for model, model_admin in ((User, StaffUserAdmin), (Group, StaffGroupAdmin)):
    if admin.site.is_registered(model):
        admin.site.unregister(model)
    admin.site.register(model, model_admin)
