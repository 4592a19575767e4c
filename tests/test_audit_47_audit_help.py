"""The audit trail's search help quotes an operator the trail really holds."""

from __future__ import annotations

import re

from django.contrib import admin
from django.core.management import get_commands

from merchants.models import AuditEntry


def test_the_quoted_example_names_a_real_command():
    # current_actor() labels an operator "manage.py <command>"; the example
    # named "fx_pin", a command that does not exist, so copying it found nothing.
    help_text = admin.site._registry[AuditEntry].search_help_text
    quoted = re.findall(r'"manage\.py ([a-z_]+)"', help_text)
    assert quoted
    assert all(name in get_commands() for name in quoted), quoted
