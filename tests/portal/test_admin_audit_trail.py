"""Staff edits in the admin reach the partner's audit trail (merchants.audit):
the admin saves through the ORM, not the services that record."""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.core.management import get_commands

from merchants.models import AuditEntry, Merchant

pytestmark = pytest.mark.django_db


def form_data(response):
    form = response.context["adminform"].form
    data = {}
    for name in form.fields:
        value = form[name].value()
        if value is None:
            continue
        if isinstance(value, bool):
            if value:
                data[name] = "on"
            continue
        data[name] = value
    for fs in response.context.get("inline_admin_formsets", []):
        mf = fs.formset.management_form
        for name in mf.fields:
            data[mf.add_prefix(name)] = mf[name].value()
    return data


def drawn(client, url: str) -> str:
    """The hidden ``loaded_as`` of the change page at ``url`` (stale_edits):
    a hand-made POST carries it as the page would, or is refused."""
    return client.get(url).context["adminform"].form["loaded_as"].value()


def test_staff_disabling_a_merchant_in_the_admin_is_audited(admin_client, merchant):
    url = f"/admin/merchants/merchant/{merchant.pk}/change/"
    data = form_data(admin_client.get(url))
    data["disabled"] = "on"
    answer = admin_client.post(url, data)
    assert answer.status_code == 302, answer.context["adminform"].form.errors
    assert Merchant.objects.get(pk=merchant.pk).disabled is True
    entry = AuditEntry.objects.get(target=str(merchant.pk))
    assert (entry.action, entry.actor_kind) == ("merchant.updated", "staff")
    assert entry.details == {"changed": ["disabled"]}
    assert entry.partner == merchant.partner


def test_staff_changing_partner_settings_in_the_admin_is_audited(admin_client, partner):
    url = f"/admin/merchants/partner/{partner.pk}/change/"
    data = form_data(admin_client.get(url))
    data["pos_expiry_seconds"] = "1800"
    answer = admin_client.post(url, data)
    assert answer.status_code == 302, answer.context["adminform"].form.errors
    partner.refresh_from_db()
    assert partner.pos_expiry_seconds == 1800
    entry = AuditEntry.objects.get(partner=partner, action="partner.updated")
    assert entry.actor_kind == "staff"
    assert "pos_expiry_seconds" in entry.details["changed"]


def test_saving_without_a_change_records_nothing(admin_client, merchant):
    url = f"/admin/merchants/merchant/{merchant.pk}/change/"
    answer = admin_client.post(url, form_data(admin_client.get(url)))
    assert answer.status_code == 302
    assert not AuditEntry.objects.exists()


# The audit trail's search help quotes an operator the trail really holds.
def test_the_quoted_example_names_a_real_command():
    # current_actor() labels an operator "manage.py <command>"; the example
    # named "fx_pin", a command that does not exist, so copying it found nothing.
    help_text = admin.site._registry[AuditEntry].search_help_text
    quoted = re.findall(r'"manage\.py ([a-z_]+)"', help_text)
    assert quoted
    assert all(name in get_commands() for name in quoted), quoted
