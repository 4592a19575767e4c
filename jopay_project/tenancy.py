"""Tenancy (decisions.md D10): every tenant row is read through ``for_tenant``.

A ``Tenant`` is a partner *and* a mode. ``TenantQuerySet.for_tenant`` is the
one way API and portal code reaches tenant rows: it needs both, so a query
cannot forget one of them. Another partner's row, or the other mode's, is
then simply absent, and the caller answers the same 404 as for an id that
never existed. ``tests/test_tenancy.py`` walks every v1 route to prove it, and
a guard test forbids ``.objects.`` lookups of tenant models in API/portal code.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import models

if TYPE_CHECKING:
    from merchants.models import Partner


@dataclass(frozen=True)
class Tenant:
    partner: Partner
    test_mode: bool

    @property
    def mode(self) -> str:
        return "test" if self.test_mode else "live"


class TenantQuerySet(models.QuerySet):
    def for_tenant(self, tenant: Tenant) -> TenantQuerySet:
        if not isinstance(tenant, Tenant):
            raise TypeError("for_tenant() needs a Tenant (partner and mode)")
        return self.filter(partner=tenant.partner, test_mode=tenant.test_mode)


class TenantModel(models.Model):
    """A row owned by one partner in one mode (merchants, requests, plans, events)."""

    partner = models.ForeignKey(
        "merchants.Partner", on_delete=models.PROTECT, related_name="+"
    )
    test_mode = models.BooleanField(default=False)

    objects = TenantQuerySet.as_manager()

    class Meta:
        abstract = True

    @property
    def tenant(self) -> Tenant:
        return Tenant(partner=self.partner, test_mode=self.test_mode)
