"""Rotating again while a rotation is pending (D25, docs/site/events.md).

The service keeps the pending rotation's new secret (replacing it would drop a
secret receivers may already run with). The portal said "New secret created"
all the same, so a partner rotating because that new secret leaked was told it
had been replaced while it went on signing every delivery. The page now says
the pending secret stands and how to replace it (confirm, then rotate again).
"""

from __future__ import annotations

import re

import pytest

from webhooks.models import WebhookEndpoint
from webhooks.services import (
    webhook_endpoint_set,
    webhook_rotation_confirm,
    webhook_secret_rotate,
)

pytestmark = pytest.mark.django_db

URL = "https://127.0.0.1:9443/jopay/hooks"


def texts(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


@pytest.fixture
def enabled(partner):
    endpoint, _ = webhook_endpoint_set(partner=partner, url=URL, enabled=True)
    return endpoint


def test_a_first_rotation_says_a_new_secret_was_created(portal, enabled):
    response = portal.post("/portal/webhooks/rotate/", follow=True)
    assert any(t.startswith("New secret created.") for t in texts(response))


def test_rotating_again_before_confirming_says_the_pending_secret_stands(
    portal, partner, enabled
):
    portal.post("/portal/webhooks/rotate/", follow=True)  # its message read
    pending = WebhookEndpoint.objects.get(partner=partner).secret

    response = portal.post("/portal/webhooks/rotate/", follow=True)

    endpoint = WebhookEndpoint.objects.get(partner=partner)
    assert endpoint.secret == pending  # D25: the pending new secret stands
    assert response.context["revealed"]["hex"] == pending
    messages = texts(response)
    assert not any("New secret created" in t for t in messages), messages
    assert any(
        "A rotation is already pending" in t and "confirm" in t for t in messages
    ), messages


def test_the_rotate_button_says_what_it_does_while_a_rotation_is_pending(
    portal, enabled
):
    before = portal.get("/portal/webhooks/").content.decode()
    assert "Create a new secret? Both sign until you confirm" in before
    portal.post("/portal/webhooks/rotate/")
    during = portal.get("/portal/webhooks/").content.decode()
    assert "Create a new secret?" not in during
    assert "A rotation is pending: rotating again shows its new secret" in during


def test_a_confirm_from_a_page_showing_an_older_rotation_confirms_nothing(
    portal, partner, enabled
):
    """Alice's page shows the pending rotation whose new secret her receiver
    now runs with. Meanwhile Bob confirms it and starts another. Alice's
    "Confirm rotation" used to confirm Bob's: the secret her receiver checks
    stopped signing at once, and its 4xx answers abandon deliveries (D24, D25).
    """
    portal.post("/portal/webhooks/rotate/")
    alices_page = portal.get("/portal/webhooks/").content.decode()
    deployed = WebhookEndpoint.objects.get(partner=partner).secret
    confirm_form = re.search(
        r'<form method="post" action="/portal/webhooks/rotate/confirm/".*?</form>',
        alices_page,
        re.S,
    )[0]
    fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', confirm_form))
    fields.pop("csrfmiddlewaretoken", None)

    webhook_rotation_confirm(partner=partner)  # Bob, in another session
    webhook_secret_rotate(partner=partner)

    response = portal.post("/portal/webhooks/rotate/confirm/", fields, follow=True)

    endpoint = WebhookEndpoint.objects.get(partner=partner)
    assert endpoint.previous_secret == deployed  # still signing: nothing confirmed
    messages = texts(response)
    assert not any("Rotation confirmed" in t for t in messages), messages
    assert any("changed after you opened this page" in t for t in messages), messages


def test_a_confirm_from_the_current_page_confirms(portal, partner, enabled):
    portal.post("/portal/webhooks/rotate/")
    page = portal.get("/portal/webhooks/").content.decode()
    token = re.search(r'name="rotation" value="([^"]+)"', page)[1]
    response = portal.post(
        "/portal/webhooks/rotate/confirm/", {"rotation": token}, follow=True
    )
    assert WebhookEndpoint.objects.get(partner=partner).previous_secret == ""
    assert any("Rotation confirmed" in t for t in texts(response))
