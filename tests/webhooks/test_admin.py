"""Staff admin: lists never show secrets; Resend calls the same service (D24)."""

from __future__ import annotations

from django.urls import reverse

from webhooks.delivery import deliver
from webhooks.models import WebhookDelivery

from .conftest import Answer, emit


def test_lists_and_detail_pages_render_without_secrets(
    admin_client, partner, endpoint_for, receiver
):
    receiver.program("/hook", Answer(500, body=b"receiver said no"))
    endpoint, secret = endpoint_for(partner)
    delivery = emit(partner).deliveries.get()
    deliver(delivery_id=str(delivery.pk))
    pages = [
        reverse("admin:webhooks_webhookendpoint_changelist"),
        reverse("admin:webhooks_webhookendpoint_change", args=[endpoint.pk]),
        reverse("admin:webhooks_webhookevent_changelist"),
        reverse("admin:webhooks_webhookdelivery_changelist"),
        reverse("admin:webhooks_webhookdelivery_change", args=[delivery.pk]),
    ]
    for page in pages:
        answer = admin_client.get(page)
        assert answer.status_code == 200, page
        assert secret.encode() not in answer.content, page
    detail = admin_client.get(pages[-1])
    assert b"receiver said no" in detail.content  # the attempt inline


def test_resend_action_queues_the_same_delivery(
    admin_client, partner, endpoint_for, receiver, django_capture_on_commit_callbacks
):
    receiver.program("/hook", Answer(400), Answer(200))
    endpoint_for(partner)
    delivery = emit(partner).deliveries.get()
    deliver(delivery_id=str(delivery.pk))
    with django_capture_on_commit_callbacks() as callbacks:
        answer = admin_client.post(
            reverse("admin:webhooks_webhookdelivery_changelist"),
            {"action": "resend", "_selected_action": [str(delivery.pk)]},
        )
    assert answer.status_code == 302
    assert len(callbacks) == 1
    delivery.refresh_from_db()
    assert delivery.state == "pending"
    assert deliver(delivery_id=str(delivery.pk)).state == "delivered"
    assert WebhookDelivery.objects.count() == 1


def test_resend_action_refuses_a_delivery_whose_event_is_past_30_days(
    admin_client, partner, endpoint_for, receiver
):
    # D36: events are kept 30 days; resending a not yet purged older one
    # also kept it from the purge for as long as it stayed pending.
    from datetime import timedelta

    from django.utils import timezone

    from webhooks.models import WebhookEvent

    receiver.program("/hook", Answer(400))
    endpoint_for(partner)
    delivery = emit(partner).deliveries.get()
    deliver(delivery_id=str(delivery.pk))
    WebhookEvent.objects.filter(pk=delivery.event_id).update(
        created_at=timezone.now() - timedelta(days=30, seconds=1)
    )
    answer = admin_client.post(
        reverse("admin:webhooks_webhookdelivery_changelist"),
        {"action": "resend", "_selected_action": [str(delivery.pk)]},
        follow=True,
    )
    assert f"Delivery {delivery.pk}: Not found.".encode() in answer.content
    delivery.refresh_from_db()
    assert delivery.state == "abandoned"


def test_resend_is_logged_with_the_staff_user(
    admin_client, partner, endpoint_for, receiver
):
    """Every admin action names who took it (STYLE.md "Admin is for support")."""
    from django.contrib.admin.models import CHANGE, LogEntry

    receiver.program("/hook", Answer(400))
    endpoint_for(partner)
    delivery = emit(partner).deliveries.get()
    deliver(delivery_id=str(delivery.pk))
    admin_client.post(
        reverse("admin:webhooks_webhookdelivery_changelist"),
        {"action": "resend", "_selected_action": [str(delivery.pk)]},
    )
    entries = LogEntry.objects.filter(object_id=str(delivery.pk))
    assert [(e.user.username, e.action_flag, e.change_message) for e in entries] == [
        ("admin", CHANGE, "Resent (one more attempt)")
    ]


def test_enable_action_tells_staff_the_partner_must_reveal_the_new_secret(
    admin_client, partner, receiver
):
    # The first enable generates the secret (D25); staff never see it, so
    # the page must say where the partner gets it, or every delivery fails.
    from webhooks.models import WebhookEndpoint
    from webhooks.services import webhook_endpoint_set

    endpoint, _ = webhook_endpoint_set(partner=partner, url=receiver.url())
    answer = admin_client.post(
        reverse("admin:webhooks_webhookendpoint_changelist"),
        {"action": "enable", "_selected_action": [endpoint.pk]},
        follow=True,
    )
    endpoint = WebhookEndpoint.objects.get(pk=endpoint.pk)
    assert endpoint.enabled
    assert endpoint.secret
    text = answer.content.decode()
    assert "Reveal secret" in text
    assert endpoint.secret not in text
    # Enabled again later (the secret exists): no such warning.
    webhook_endpoint_set(partner=partner, enabled=False)
    again = admin_client.post(
        reverse("admin:webhooks_webhookendpoint_changelist"),
        {"action": "enable", "_selected_action": [endpoint.pk]},
        follow=True,
    )
    assert "Reveal secret" not in again.content.decode()


# --- search by exact identifier, on indexes (jopay_project.admin_search) ----------


def test_events_and_deliveries_are_found_by_id_and_partner_slug(
    admin_client, partner, other_partner, endpoint_for, rf, admin_user
):
    import uuid

    from tests.portal.test_admin_search import assert_indexed, search_plan
    from webhooks.models import WebhookEvent

    endpoint_for(partner)
    request_id = uuid.uuid4()
    event = emit(partner, request_id=request_id)
    delivery = event.deliveries.get()
    emit(other_partner)
    events = reverse("admin:webhooks_webhookevent_changelist")
    deliveries = reverse("admin:webhooks_webhookdelivery_changelist")

    def found(url, term):
        page = admin_client.get(url, {"q": term})
        assert page.status_code == 200
        return {row.pk for row in page.context["cl"].result_list}

    assert found(events, str(event.pk)) == {event.pk}
    assert found(events, str(request_id)) == {event.pk}
    assert found(events, partner.slug) == {event.pk}
    assert found(events, str(event.pk)[:-1]) == set()  # malformed: never a 500
    assert found(deliveries, str(delivery.pk).upper()) == {delivery.pk}
    assert found(deliveries, str(event.pk)) == {delivery.pk}
    assert found(deliveries, partner.slug) == {delivery.pk}
    assert found(deliveries, "not a uuid") == set()
    # "=id" compared UPPER(id::text): no index could serve it.
    for model, table in (
        (WebhookEvent, "webhooks_webhookevent"),
        (WebhookDelivery, "webhooks_webhookdelivery"),
    ):
        for term in (str(event.pk), partner.slug):
            assert_indexed(search_plan(rf, admin_user, model, term), table)


def test_the_endpoint_forms_url_check_waits_for_the_resolver_as_long_as_the_api(
    partner, monkeypatch, settings
):
    """D26 at save: the API and the portal give the host's look-up 5 s, then
    answer invalid_webhook_url. The admin form's own check had no deadline, so
    a resolver that did not answer held the staff member's request (and a web
    worker) for as long as the system resolver took."""
    import socket
    import time

    import pytest
    from django import forms

    from webhooks import urlsafety
    from webhooks.admin import WebhookEndpointForm
    from webhooks.services import endpoints

    settings.JOPAY_WEBHOOK_ALLOW_PRIVATE_HOSTS = True
    real = socket.getaddrinfo

    def getaddrinfo(host, *args, **kwargs):
        if host == "hooks.slow-dns.test":
            time.sleep(3)
            return real("127.0.0.1", *args, **kwargs)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(urlsafety.socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(endpoints, "SAVE_RESOLVE_SECONDS", 0.5)
    form = WebhookEndpointForm()
    form.cleaned_data = {"url": "https://hooks.slow-dns.test/jopay"}

    started = time.monotonic()
    with pytest.raises(forms.ValidationError, match="invalid_webhook_url"):
        form.clean_url()
    assert time.monotonic() - started < 2


def test_staff_removing_the_url_in_the_admin_is_a_switch_off_by_staff(
    admin_client, partner, endpoint_for
):
    """An empty URL switches sending off (D24); done by staff on the endpoint's
    admin page it is staff's switch-off (``disabled_by_staff``, the portal's
    alert), as with the Disable action, not one the partner never made."""
    from webhooks.models import WebhookEndpoint

    endpoint, _ = endpoint_for(partner)
    url = reverse("admin:webhooks_webhookendpoint_change", args=[endpoint.pk])
    loaded_as = admin_client.get(url).context["adminform"].form["loaded_as"].value()

    answer = admin_client.post(url, {"url": "", "loaded_as": loaded_as})

    assert answer.status_code == 302
    endpoint = WebhookEndpoint.objects.get(pk=endpoint.pk)
    assert (endpoint.url, endpoint.enabled) == ("", False)
    assert endpoint.disabled_reason == WebhookEndpoint.DisabledReason.STAFF


def test_resend_refuses_more_rows_than_one_click_can_finish(
    admin_client, partner, endpoint_for, receiver, monkeypatch
):
    # "Select all 1,000,000" + Resend read every row and resent each one in
    # one HTTP request, past any timeout, half done (jopay_project.admin_actions).
    from jopay_project import admin_actions

    monkeypatch.setattr(admin_actions, "MAX_ROWS", 1)
    receiver.program("/hook", Answer(400), Answer(400))
    endpoint_for(partner)
    first = emit(partner).deliveries.get()
    second = emit(partner).deliveries.get()
    for delivery in (first, second):
        deliver(delivery_id=str(delivery.pk))
    answer = admin_client.post(
        reverse("admin:webhooks_webhookdelivery_changelist"),
        {
            "action": "resend",
            "select_across": "1",
            "index": "0",
            "_selected_action": [str(first.pk)],
        },
        follow=True,
    )
    assert "Select at most 1 rows" in answer.content.decode()
    states = set(WebhookDelivery.objects.values_list("state", flat=True))
    assert states == {"abandoned"}
