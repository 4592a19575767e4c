"""Admin changelists given impossible dates: the "invalid filter" page, never a 500.

``?created_at__year=-1`` passed Django's lookup checks and failed while the SQL
was built (``ValueError: year -1 is out of range``; ``OverflowError`` for a
huge number): a 500 on every changelist with a date field, ``date_hierarchy``
links edited by hand included.
"""

from __future__ import annotations

import pytest
from django.contrib import admin

from tests.portal.conftest import make_request

pytestmark = pytest.mark.django_db

# Every changelist with a date field: ours and Django's users.
WITH_DATES = [
    model_admin
    for model, model_admin in admin.site._registry.items()
    if any(
        f.get_internal_type() in ("DateTimeField", "DateField")
        for f in model._meta.get_fields()
    )
]
# Out of range for every part, not a number, not ASCII digits.
BAD = ["-1", "100000", "99999999999999999999", "٣", "2026x", ""]


def _changelist(model_admin) -> str:
    opts = model_admin.model._meta
    return f"/admin/{opts.app_label}/{opts.model_name}/"


def _date_field(model_admin) -> str:
    return next(
        f.name
        for f in model_admin.model._meta.get_fields()
        if f.get_internal_type() in ("DateTimeField", "DateField")
    )


@pytest.mark.parametrize("model_admin", WITH_DATES, ids=_changelist)
def test_an_impossible_date_part_is_the_invalid_filter_page(
    admin_client, merchant, model_admin
):
    make_request(merchant)
    url, field = _changelist(model_admin), _date_field(model_admin)
    cases = [
        (lookup, value)
        for lookup in ("year", "month", "day", "iso_year", "week", "hour", "year__gte")
        for value in BAD
    ]
    cases += [("year", "0"), ("year", "10000"), ("month", "13"), ("hour", "24")]
    for lookup, value in cases:
        response = admin_client.get(url, {f"{field}__{lookup}": value})
        assert response.status_code == 302, (lookup, value)
        assert response["Location"] == f"{url}?e=1"
    range_lookup = {f"{field}__year__in": "2026,-1"}
    assert admin_client.get(url, range_lookup).status_code == 302


@pytest.mark.parametrize("model_admin", WITH_DATES, ids=_changelist)
def test_a_possible_date_part_still_filters(admin_client, merchant, model_admin):
    url, field = _changelist(model_admin), _date_field(model_admin)
    for lookup, value in (("year", "9999"), ("year", "1"), ("month", "12")):
        response = admin_client.get(url, {f"{field}__{lookup}": value})
        assert response.status_code == 200, (lookup, value)
    ok = admin_client.get(url, {f"{field}__year__in": "2025,2026"})
    assert ok.status_code == 200
