"""A settings page opened before someone else saved the settings refuses to
save over them (D11–D13, D35; the admin's guard, merchants/admin/stale_edits.py).

The page posts back every field it showed: a limit a second user of the same
partner (or staff, in the admin) changed since came back with its old value and
was silently put back.
"""

from __future__ import annotations

import pytest

from tests.factories import PartnerUserFactory, UserFactory

from .conftest import logged_in

pytestmark = pytest.mark.django_db


def as_posted(page) -> dict:
    """What the browser sends from the page's settings form, untouched."""
    form = page.context["form"]
    data = {}
    for field in form:
        value = field.value()
        data[field.html_name] = "" if value is None else value
    return data


@pytest.fixture
def carol(partner):
    user = UserFactory(username="carol@example.com", email="carol@example.com")
    return logged_in(PartnerUserFactory(user=user, partner=partner))


def test_a_stale_page_does_not_undo_another_users_limit(portal, carol, partner):
    alice_page = portal.get("/portal/settings/")
    saved = carol.post(
        "/portal/settings/",
        {**as_posted(carol.get("/portal/settings/")), "max_amount": "500.00"},
    )
    assert saved.status_code == 302

    # Alice, on the page she opened before, changes only the POS expiry.
    response = portal.post(
        "/portal/settings/", {**as_posted(alice_page), "pos_expiry_seconds": "600"}
    )

    assert response.status_code == 400
    assert "changed" in response.content.decode()
    partner.refresh_from_db()
    assert partner.max_fiat_per_request == 50_000  # carol's limit stands
    assert partner.pos_expiry_seconds != 600
    # A fresh page saves.
    fresh = portal.post(
        "/portal/settings/",
        {**as_posted(portal.get("/portal/settings/")), "pos_expiry_seconds": "600"},
    )
    assert fresh.status_code == 302
    partner.refresh_from_db()
    assert (partner.max_fiat_per_request, partner.pos_expiry_seconds) == (50_000, 600)


def test_a_stale_page_does_not_undo_a_staff_change(portal, partner):
    page = portal.get("/portal/settings/")
    partner.invoice_expiry_seconds = 7200  # staff, in the admin
    partner.save(update_fields=["invoice_expiry_seconds"])

    response = portal.post(
        "/portal/settings/", {**as_posted(page), "min_amount": "2.00"}
    )

    assert response.status_code == 400
    partner.refresh_from_db()
    assert (partner.invoice_expiry_seconds, partner.min_fiat_per_request) == (7200, 100)


def test_the_same_page_posted_twice_saves_both_times(portal, partner):
    # A double post (no script to stop it): the second finds the row changed
    # by the first, to exactly what it sends; nothing is undone, so it saves.
    data = {**as_posted(portal.get("/portal/settings/")), "max_amount": "300.00"}

    first = portal.post("/portal/settings/", data)
    second = portal.post("/portal/settings/", data)

    assert (first.status_code, second.status_code) == (302, 302)
    partner.refresh_from_db()
    assert partner.max_fiat_per_request == 30_000


def test_an_unreadable_fingerprint_is_refused_with_the_reason_shown(portal, partner):
    data = {**as_posted(portal.get("/portal/settings/")), "pos_expiry_seconds": "600"}

    response = portal.post("/portal/settings/", {**data, "loaded_as": "x" * 65})

    assert response.status_code == 400
    assert "changed" in response.content.decode()  # not an error on a hidden field
    partner.refresh_from_db()
    assert partner.pos_expiry_seconds != 600
