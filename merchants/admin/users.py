"""Django's user admin with the project's changelist lookup checks.

Staff and portal users are Django's own ``User`` rows; its stock admin is kept
as it is, plus ``DatePartLookupsCheckedMixin`` (``?date_joined__year=-1`` was a
500 there as on every other changelist).
"""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User

from jopay_project.admin_lookups import DatePartLookupsCheckedMixin


class StaffUserAdmin(DatePartLookupsCheckedMixin, UserAdmin):
    pass


if admin.site.is_registered(User):
    admin.site.unregister(User)
admin.site.register(User, StaffUserAdmin)
