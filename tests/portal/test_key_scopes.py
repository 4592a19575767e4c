"""Changing the scopes of an existing key in ``/portal/api-keys/`` (spec §2.2, D7, D8).

The remedy for ``insufficient_scope`` is "add the scope to the existing key in
the portal": these tests change a key in the portal and then call the real API
with that same bearer key, proving the change holds from the next request on
(nothing caches scopes). Another partner's key, the other mode's, and a
revoked or expired key are refused with nothing changed (D10).
"""

from __future__ import annotations

import re
import uuid
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.test import Client
from django.utils import timezone

from jopay_project.errors import JoPayError
from merchants.keys import api_key_create, api_key_revoke, api_key_scopes_update
from merchants.models import ApiKey
from tests.conftest import KeyClient
from tests.portal.conftest import logged_in

pytestmark = pytest.mark.django_db

MERCHANTS_URL = "/api/v1/merchants"  # needs merchants:read


def scopes_url(key) -> str:
    return f"/portal/api-keys/{getattr(key, 'pk', key)}/scopes/"


def restricted(*scopes: str) -> dict:
    return {"access": "restricted", "scopes": list(scopes)}


def message_tags(response) -> list[str]:
    return [m.tags for m in get_messages(response.wsgi_request)]


@pytest.fixture
def reader(partner):
    """Alice's live key with requests:read only, and its full bearer value."""
    return api_key_create(partner=partner, test_mode=False, scopes=["requests:read"])


def scopes_of(key) -> list[str] | None:
    return ApiKey.objects.get(pk=key.pk).scopes


# -- over the real API ---------------------------------------------------------


def test_adding_a_scope_lets_the_key_call_the_endpoint_it_was_refused(portal, reader):
    key, full = reader
    api = KeyClient(full)
    before = api.get(MERCHANTS_URL)
    assert before.status_code == 403
    assert before.json()["error"] == "insufficient_scope"
    assert before.json()["required_scope"] == "merchants:read"

    response = portal.post(
        scopes_url(key), restricted("requests:read", "merchants:read")
    )

    assert response.status_code == 302
    assert response["Location"] == "/portal/api-keys/"
    assert scopes_of(key) == ["merchants:read", "requests:read"]
    assert api.get(MERCHANTS_URL).status_code == 200  # the very next request
    assert api.get("/api/v1/requests").status_code == 200  # kept scope still works


def test_removing_a_scope_refuses_the_next_request(portal, partner):
    key, full = api_key_create(
        partner=partner, test_mode=False, scopes=["merchants:read", "requests:read"]
    )
    api = KeyClient(full)
    assert api.get(MERCHANTS_URL).status_code == 200

    portal.post(scopes_url(key), restricted("requests:read"))

    after = api.get(MERCHANTS_URL)
    assert after.status_code == 403
    assert after.json()["error"] == "insufficient_scope"
    assert after.json()["required_scope"] == "merchants:read"
    assert api.get("/api/v1/requests").status_code == 200


def test_full_access_makes_the_key_unrestricted(portal, reader):
    key, full = reader
    response = portal.post(scopes_url(key), {"access": "full", "scopes": []})
    assert response.status_code == 302
    assert scopes_of(key) is None  # D7: null, not a list of every scope
    api = KeyClient(full)
    assert api.get(MERCHANTS_URL).status_code == 200
    assert api.get("/api/v1/fx/rates").status_code != 403


def test_an_unrestricted_key_can_be_restricted(portal, partner):
    key, full = api_key_create(partner=partner, test_mode=False)
    portal.post(scopes_url(key), restricted("requests:read"))
    assert scopes_of(key) == ["requests:read"]
    assert KeyClient(full).get(MERCHANTS_URL).status_code == 403


def test_a_test_key_is_changed_in_test_mode(portal_test, partner):
    key, full = api_key_create(partner=partner, test_mode=True, scopes=["fx:read"])
    response = portal_test.post(scopes_url(key), restricted("merchants:read"))
    assert response.status_code == 302
    assert scopes_of(key) == ["merchants:read"]
    assert KeyClient(full).get(MERCHANTS_URL).status_code == 200


# -- the page ------------------------------------------------------------------


def test_success_message_and_the_list_shows_the_new_scopes(portal, reader):
    key, _ = reader
    response = portal.post(
        scopes_url(key), restricted("requests:read", "events:read"), follow=True
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert f"The key {key.prefix}… has the scopes events:read, requests:read" in page
    row = re.search(
        rf"<tr[^>]*>\s*<td[^>]*>{re.escape(key.prefix)}….*?</tr>", page, re.S
    )
    assert row is not None
    assert '<span class="badge scope">events:read</span>' in row.group(0)
    assert '<span class="badge scope">requests:read</span>' in row.group(0)


def test_page_offers_the_change_form_for_usable_keys_only(portal, partner, reader):
    key, _ = reader
    gone, _ = api_key_create(partner=partner, test_mode=False, name="gone")
    api_key_revoke(key=gone)
    page = portal.get("/portal/api-keys/").content.decode()
    assert f'action="{scopes_url(key)}"' in page
    assert f'action="{scopes_url(gone)}"' not in page
    # The form starts from the key's current scopes, with ids unique per key.
    assert re.search(
        rf'<input[^>]*name="scopes" value="requests:read"[^>]*id="id_key_{key.pk}_'
        rf'scopes_\d+"[^>]*checked',
        page,
    )


# -- refusals: nothing changes ----------------------------------------------------


def test_restricted_with_no_scope_ticked_is_refused(portal, reader):
    """D7: an empty list is refused, as at creation; full access is its own choice."""
    key, full = reader
    response = portal.post(scopes_url(key), {"access": "restricted"})
    assert response.status_code == 302
    assert "invalid_request" in message_tags(response)[0]
    assert scopes_of(key) == ["requests:read"]
    assert KeyClient(full).get("/api/v1/requests").status_code == 200


def test_unknown_scope_is_refused(portal, reader):
    key, _ = reader
    response = portal.post(scopes_url(key), restricted("admin:all"))
    assert "invalid_request" in message_tags(response)[0]
    assert scopes_of(key) == ["requests:read"]


def test_another_partners_key_is_the_missing_key_404(portal, bob_portal, other_partner):
    bobs, _ = api_key_create(
        partner=other_partner, test_mode=False, scopes=["requests:read"]
    )
    foreign = portal.post(scopes_url(bobs), {"access": "full"})
    missing = portal.post(scopes_url(uuid.uuid4()), {"access": "full"})
    assert foreign.status_code == missing.status_code == 404
    assert _without_csrf(foreign) == _without_csrf(missing)
    assert scopes_of(bobs) == ["requests:read"]
    # Also with a form that would be refused: still the 404, not a message.
    assert portal.post(scopes_url(bobs), {"access": "restricted"}).status_code == 404
    # Bob himself can change it.
    assert bob_portal.post(scopes_url(bobs), {"access": "full"}).status_code == 302
    assert scopes_of(bobs) is None


def test_the_other_modes_key_is_the_missing_key_404(portal, portal_test, partner):
    test_key, _ = api_key_create(partner=partner, test_mode=True, scopes=["fx:read"])
    live_key, _ = api_key_create(partner=partner, test_mode=False, scopes=["fx:read"])
    assert portal.post(scopes_url(test_key), {"access": "full"}).status_code == 404
    assert portal_test.post(scopes_url(live_key), {"access": "full"}).status_code == 404
    assert scopes_of(test_key) == scopes_of(live_key) == ["fx:read"]


def test_a_malformed_id_is_the_missing_key_404(portal):
    assert portal.post(scopes_url("not-a-uuid"), {"access": "full"}).status_code == 404


def test_a_revoked_key_is_refused_and_stays_revoked(portal, reader):
    key, full = reader
    api_key_revoke(key=key)
    response = portal.post(scopes_url(key), {"access": "full"})
    assert response.status_code == 302
    assert "invalid_request" in message_tags(response)[0]
    assert scopes_of(key) == ["requests:read"]
    assert KeyClient(full).get(MERCHANTS_URL).json()["error"] == "auth_failed"


def test_an_expired_key_is_refused(portal, partner):
    key, _ = api_key_create(
        partner=partner,
        test_mode=False,
        scopes=["requests:read"],
        expires_at=timezone.now() + timedelta(minutes=5),
    )
    ApiKey.objects.filter(pk=key.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    response = portal.post(scopes_url(key), {"access": "full"})
    assert "invalid_request" in message_tags(response)[0]
    assert scopes_of(key) == ["requests:read"]


# -- login, CSRF, method ---------------------------------------------------------


def test_anonymous_is_sent_to_login_and_nothing_changes(client, reader):
    key, _ = reader
    response = client.post(scopes_url(key), {"access": "full"})
    assert response.status_code == 302
    assert response["Location"].startswith("/portal/login/")
    assert scopes_of(key) == ["requests:read"]


def test_csrf_is_enforced(alice_user, reader):
    key, _ = reader
    client = logged_in(alice_user, enforce_csrf_checks=True)
    assert client.post(scopes_url(key), {"access": "full"}).status_code == 403
    assert scopes_of(key) == ["requests:read"]

    client.get("/portal/api-keys/")
    token = client.cookies["csrftoken"].value
    response = client.post(
        scopes_url(key), {"access": "full", "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302
    assert scopes_of(key) is None


def test_change_needs_post(portal, reader):
    key, _ = reader
    assert portal.get(scopes_url(key)).status_code == 405


def test_a_user_without_portal_membership_is_refused(reader, django_user_model):
    key, _ = reader
    staff = django_user_model.objects.create_user("ops", password="x" * 12)
    client = Client()
    client.force_login(staff)
    response = client.post(scopes_url(key), {"access": "full"})
    assert response.status_code == 302
    assert response["Location"].startswith("/portal/login/")
    assert scopes_of(key) == ["requests:read"]


# -- the service -----------------------------------------------------------------


def test_service_refuses_an_empty_list_with_the_creation_message(partner, reader):
    key, _ = reader
    with pytest.raises(ValueError, match="empty scope list") as changed:
        api_key_scopes_update(
            partner=partner, test_mode=False, key_id=key.pk, scopes=[]
        )
    with pytest.raises(ValueError, match="empty scope list") as created:
        api_key_create(partner=partner, test_mode=False, scopes=[])
    assert str(changed.value) == str(created.value)
    assert scopes_of(key) == ["requests:read"]


def test_service_answers_not_found_for_foreign_other_mode_and_missing(
    partner, other_partner, reader
):
    key, _ = reader
    for owner, test_mode, key_id in [
        (other_partner, False, key.pk),
        (partner, True, key.pk),
        (partner, False, uuid.uuid4()),
    ]:
        with pytest.raises(JoPayError) as err:
            api_key_scopes_update(
                partner=owner, test_mode=test_mode, key_id=key_id, scopes=None
            )
        assert err.value.code == "not_found"
    assert scopes_of(key) == ["requests:read"]


def test_service_audits_who_changed_the_scopes(partner, reader):
    from merchants.audit import acting_as
    from merchants.models import AuditEntry

    key, _ = reader
    with acting_as(AuditEntry.ActorKind.PORTAL_USER, "alice@example.com"):
        api_key_scopes_update(
            partner=partner,
            test_mode=False,
            key_id=key.pk,
            scopes=["fx:read", "requests:read", "fx:read"],
        )
    assert scopes_of(key) == ["fx:read", "requests:read"]  # sorted, deduplicated
    entry = AuditEntry.objects.get(action="api_key.scopes_changed")
    assert (entry.partner, entry.test_mode, entry.target) == (
        partner,
        False,
        key.prefix,
    )
    assert (entry.actor_kind, entry.actor) == ("portal_user", "alice@example.com")
    assert entry.details == {
        "from": ["requests:read"],
        "to": ["fx:read", "requests:read"],
    }


def test_portal_change_is_audited_with_the_portal_user(portal, reader):
    from merchants.models import AuditEntry

    key, _ = reader
    portal.post(scopes_url(key), {"access": "full"})
    entry = AuditEntry.objects.get(action="api_key.scopes_changed")
    assert (entry.actor_kind, entry.actor) == ("portal_user", "alice@example.com")
    assert entry.details == {"from": ["requests:read"], "to": None}


def _without_csrf(response) -> bytes:
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", response.content)


# -- a page opened before someone else changed the key ---------------------------


def _loaded_scopes(page: str, key) -> str:
    """The key's change form's hidden ``loaded_scopes``, as the page drew it."""
    found = re.search(
        rf'name="loaded_scopes" value="([^"]*)"[^>]*id="id_key_{key.pk}_loaded_scopes"',
        page,
    )
    assert found is not None, "the change form carries the scopes it showed"
    return found.group(1)


def test_a_page_opened_before_the_key_was_narrowed_does_not_widen_it_again(
    portal, partner, alice_user
):
    """D7, D8: a leaked key narrowed by a colleague stays narrowed.

    Alice's page shows the key with merchants:read and requests:read; Carol
    (another user of the partner) removes merchants:read. Alice, still on her
    page, ticks fx:read too and saves: the form posts back every box as her
    page drew it, which put merchants:read back without anyone choosing to.
    """
    key, full = api_key_create(
        partner=partner, test_mode=False, scopes=["merchants:read", "requests:read"]
    )
    loaded = _loaded_scopes(portal.get("/portal/api-keys/").content.decode(), key)

    api_key_scopes_update(
        partner=partner, test_mode=False, key_id=key.pk, scopes=["requests:read"]
    )
    response = portal.post(
        scopes_url(key),
        {
            **restricted("merchants:read", "requests:read", "fx:read"),
            "loaded_scopes": loaded,
        },
        follow=True,
    )

    assert scopes_of(key) == ["requests:read"]  # nothing saved
    assert KeyClient(full).get(MERCHANTS_URL).status_code == 403
    page = response.content.decode()
    assert "reload the page" in page
    assert "invalid_request" in page


def test_a_fresh_page_and_a_double_post_still_save(portal, reader):
    key, _ = reader
    loaded = _loaded_scopes(portal.get("/portal/api-keys/").content.decode(), key)
    body = {**restricted("requests:read", "fx:read"), "loaded_scopes": loaded}

    assert portal.post(scopes_url(key), body).status_code == 302
    assert scopes_of(key) == ["fx:read", "requests:read"]
    # The same form sent twice (a double click): nothing to undo, no refusal.
    response = portal.post(scopes_url(key), body, follow=True)
    assert scopes_of(key) == ["fx:read", "requests:read"]
    assert "reload the page" not in response.content.decode()


def test_full_access_shown_then_restricted_elsewhere_is_not_made_full_again(
    portal, partner
):
    key, _ = api_key_create(partner=partner, test_mode=False)
    loaded = _loaded_scopes(portal.get("/portal/api-keys/").content.decode(), key)
    api_key_scopes_update(
        partner=partner, test_mode=False, key_id=key.pk, scopes=["requests:read"]
    )
    portal.post(scopes_url(key), {"access": "full", "loaded_scopes": loaded})
    assert scopes_of(key) == ["requests:read"]
