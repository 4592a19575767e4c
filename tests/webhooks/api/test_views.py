"""Webhooks and events API v1 (D7, D10, D23-D26, D35)."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from webhooks.delivery import deliver
from webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookEvent

from ..conftest import Answer, emit

ENDPOINT = "/api/v1/webhooks/endpoint"
TEST = "/api/v1/webhooks/test"
EVENTS = "/api/v1/events"


def resend_url(event_id) -> str:
    return f"/api/v1/events/{event_id}/resend"


@pytest.fixture(autouse=True)
def _receiver(receiver):
    """Every test here may send to the real local receiver (loopback allowed)."""
    return receiver


def _put(client, body):
    return client.put(ENDPOINT, body, format="json")


# --- GET/PUT /webhooks/endpoint -----


def test_get_before_configuration_shows_an_empty_endpoint(api):
    answer = api.get(ENDPOINT)
    assert answer.status_code == 200
    assert answer.json() == {
        "ok": True,
        "url": None,
        "enabled": False,
        "rotation_pending": False,
        "failing_since": None,
        "slow_since": None,
        "disabled_reason": None,
    }


def test_put_enables_and_returns_the_secret_exactly_once(api, api_test, receiver):
    first = _put(api, {"url": receiver.url(), "enabled": True})
    assert first.status_code == 200
    body = first.json()
    assert body["ok"] is True
    assert body["enabled"] is True
    assert body["url"] == receiver.url()
    assert len(body["secret"]) == 64
    assert "secret" not in _put(api, {"enabled": True}).json()
    assert "secret" not in _put(api, {"url": receiver.url("/other")}).json()
    for client in (api, api_test):  # a test key may read it (D35)
        got = client.get(ENDPOINT).json()
        assert "secret" not in got
        assert got["url"] == receiver.url("/other")
        assert got["enabled"] is True


def test_put_with_a_test_key_is_insufficient_scope_even_with_the_scope(
    client_for, partner, receiver
):
    key = client_for(partner, test_mode=True, scopes=["webhooks:write"])
    answer = _put(key, {"url": receiver.url(), "enabled": True})
    assert answer.status_code == 403
    assert answer.json()["error"] == "insufficient_scope"
    assert answer.json()["required_scope"] == "webhooks:write"
    assert not WebhookEndpoint.objects.filter(partner=partner).exists()


def test_put_needs_webhooks_write_get_needs_no_scope(client_for, partner, receiver):
    reader = client_for(partner, scopes=["events:read"])
    assert reader.get(ENDPOINT).status_code == 200
    answer = _put(reader, {"url": receiver.url()})
    assert answer.status_code == 403
    assert answer.json()["error"] == "insufficient_scope"
    assert answer.json()["required_scope"] == "webhooks:write"
    writer = client_for(partner, scopes=["webhooks:write"])
    assert _put(writer, {"url": receiver.url()}).status_code == 200


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"url": "http://127.0.0.1/hook"}, "invalid_webhook_url"),
        ({"url": "not a url"}, "invalid_webhook_url"),
        ({"url": 42}, "invalid_webhook_url"),
        ({"url": None}, "invalid_webhook_url"),
        ({"enabled": "yes"}, "invalid_request"),
        ({"enabled": True}, "webhook_not_configured"),
        ([1, 2], "invalid_body"),
    ],
)
def test_put_bad_input_answers_its_code_and_writes_nothing(api, body, code):
    answer = _put(api, body)
    assert answer.status_code == 400
    assert answer.json()["error"] == code
    assert not WebhookEndpoint.objects.filter(enabled=True).exists()


def test_put_non_json_body_is_invalid_body(api):
    answer = api.put(
        ENDPOINT, "url=x", content_type="application/x-www-form-urlencoded"
    )
    assert answer.json()["error"] == "invalid_body"


def test_private_url_is_refused_in_production(api, settings):
    settings.JOPAY_WEBHOOK_ALLOW_PRIVATE_HOSTS = False
    answer = _put(api, {"url": "https://192.168.0.10/hook", "enabled": True})
    assert answer.status_code == 400
    assert answer.json()["error"] == "invalid_webhook_url"


def test_endpoint_shows_failure_and_disable_state(api, partner, receiver):
    _put(api, {"url": receiver.url(), "enabled": True})
    since = timezone.now() - timedelta(days=1)
    WebhookEndpoint.objects.filter(partner=partner).update(
        failing_since=since,
        slow_since=since,
        enabled=False,
        disabled_reason="endpoint_gone",
    )
    body = api.get(ENDPOINT).json()
    assert body["failing_since"].endswith("Z")
    assert body["failing_since"][:10] == str(since.date())
    assert body["slow_since"] == body["failing_since"]
    assert body["disabled_reason"] == "endpoint_gone"
    assert body["enabled"] is False


def test_endpoint_is_rate_limited_per_key(api, frozen_clock):
    for _ in range(60):
        assert api.get(ENDPOINT).status_code == 200
    answer = api.get(ENDPOINT)
    assert answer.status_code == 429
    assert answer.json()["error"] == "rate_limited"
    # spec §7.1: PUT is another endpoint with its own counter.
    put = api.put(ENDPOINT, {"enabled": False}, format="json")
    assert put.status_code == 200, put.content
    assert put.headers["X-RateLimit-Remaining"] == "59"


# --- POST /webhooks/test -----


def test_test_send_without_url_is_webhook_not_configured(api):
    answer = api.post(TEST, {}, format="json")
    assert answer.status_code == 400
    assert answer.json()["error"] == "webhook_not_configured"


def test_test_send_delivers_a_webhook_test_event_in_the_keys_mode(
    api, api_test, receiver
):
    _put(api, {"url": receiver.url(), "enabled": True})
    answer = api_test.post(TEST, {}, format="json")
    assert answer.status_code == 202
    delivery = WebhookDelivery.objects.get(pk=answer.json()["delivery_id"])
    assert delivery.test_mode is True
    assert str(delivery.event_id) == answer.json()["event_id"]
    assert deliver(delivery_id=str(delivery.pk)).state == "delivered"
    (got,) = receiver.received()
    assert b'"event":"webhook.test"' in got.body
    assert b'"test_mode":true' in got.body


def test_test_send_is_limited_to_5_a_minute(api, receiver):
    _put(api, {"url": receiver.url(), "enabled": True})
    codes = [api.post(TEST, {}, format="json").status_code for _ in range(6)]
    assert codes == [202] * 5 + [429]


def test_test_send_needs_webhooks_write(client_for, partner):
    answer = client_for(partner, scopes=["events:read"]).post(TEST, {}, format="json")
    assert answer.status_code == 403
    assert answer.json()["required_scope"] == "webhooks:write"


# --- GET /events -----


@pytest.fixture
def enabled(api, receiver):
    _put(api, {"url": receiver.url(), "enabled": True})


def test_events_list_items_carry_deliveries_and_attempts(
    api, partner, enabled, receiver
):
    receiver.program("/hook", Answer(500), Answer(200))
    rid = uuid.uuid4()
    event = emit(partner, request_id=rid)
    delivery = event.deliveries.get()
    deliver(delivery_id=str(delivery.pk))
    answer = api.get(EVENTS)
    assert answer.status_code == 200
    body = answer.json()
    assert body["ok"] is True
    assert body["has_more"] is False
    assert body["next_cursor"] is None
    (item,) = body["data"]
    assert item["event_id"] == str(event.pk)
    assert item["type"] == "payment.proof_attached"
    assert item["request_id"] == str(rid)
    assert item["sequence"] == 1
    assert item["created_at"].endswith("Z")
    assert item["payload"]["event"] == "payment.proof_attached"
    (d,) = item["deliveries"]
    assert d["delivery_id"] == str(delivery.pk)
    assert d["state"] == "pending"
    assert d["attempts"] == 1
    assert d["next_attempt_at"].endswith("Z")
    assert d["delivered_at"] is None
    assert d["abandoned_reason"] is None
    (a,) = d["attempt_log"]
    assert a["number"] == 1
    assert a["status_code"] == 500
    assert a["error"] is None
    assert isinstance(a["latency_ms"], int)
    assert a["at"].endswith("Z")


def test_events_list_attempts_show_the_kept_answer(api, partner, enabled, receiver):
    # README "Webhooks" + D24: each attempt lists the first 2 KiB of the answer.
    big = b"x" * 3000
    receiver.program(
        "/hook", Answer(500, body=b'{"error":"db down"}'), Answer(200, body=big)
    )
    delivery = emit(partner).deliveries.get()
    deliver(delivery_id=str(delivery.pk))
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=timezone.now()
    )
    deliver(delivery_id=str(delivery.pk))
    (item,) = api.get(EVENTS).json()["data"]
    log = item["deliveries"][0]["attempt_log"]
    assert [a["response_body"] for a in log] == ['{"error":"db down"}', "x" * 2048]


def test_events_schema_documents_the_attempts_answer(client, db):
    schema = client.get("/api/v1/schema?format=json").json()
    attempt = schema["components"]["schemas"]["AttemptDoc"]
    assert "response_body" in attempt["properties"]
    assert "response_body" in attempt["required"]


def test_events_list_pages_newest_first_with_a_cursor(api, partner):
    events = [emit(partner) for _ in range(5)]
    first = api.get(EVENTS, {"limit": 2}).json()
    assert [e["event_id"] for e in first["data"]] == [
        str(events[4].pk),
        str(events[3].pk),
    ]
    assert first["has_more"] is True
    second = api.get(EVENTS, {"limit": 2, "cursor": first["next_cursor"]}).json()
    assert [e["event_id"] for e in second["data"]] == [
        str(events[2].pk),
        str(events[1].pk),
    ]


def test_events_list_filters_by_request_id_and_type(api, partner):
    rid = uuid.uuid4()
    mine = emit(partner, request_id=rid)
    emit(partner, request_id=uuid.uuid4())
    emit(partner, type="request.expired", data={})
    got = api.get(EVENTS, {"request_id": str(rid)}).json()["data"]
    assert [e["event_id"] for e in got] == [str(mine.pk)]
    got = api.get(EVENTS, {"type": "request.expired"}).json()["data"]
    assert [e["type"] for e in got] == ["request.expired"]
    # An empty filter is no filter, as on the other lists.
    got = api.get(EVENTS, {"request_id": "", "type": "", "cursor": ""}).json()
    assert len(got["data"]) == 3


@pytest.mark.parametrize(
    ("params", "code", "field"),
    [
        ({"request_id": "nope"}, "invalid_request_id", None),
        ({"type": "payment.nope"}, "invalid_request", "type"),
        ({"limit": "0"}, "invalid_request", "limit"),
        ({"cursor": "%%%"}, "invalid_request", "cursor"),
    ],
)
def test_events_list_bad_params(api, params, code, field):
    answer = api.get(EVENTS, params)
    assert answer.status_code == 400
    assert answer.json()["error"] == code
    assert answer.json().get("field") == field


def test_events_list_shows_only_the_last_30_days(api, partner):
    old = emit(partner)
    WebhookEvent.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(days=31)
    )
    recent = emit(partner)
    got = api.get(EVENTS).json()["data"]
    assert [e["event_id"] for e in got] == [str(recent.pk)]


def test_events_list_is_tenant_scoped(api, partner, other_partner, client_for):
    mine = emit(partner)
    emit(partner, test_mode=True)
    emit(other_partner)
    got = api.get(EVENTS).json()["data"]
    assert [e["event_id"] for e in got] == [str(mine.pk)]
    bob = client_for(other_partner).get(EVENTS).json()["data"]
    assert str(mine.pk) not in [e["event_id"] for e in bob]


def test_events_list_needs_events_read(client_for, partner):
    answer = client_for(partner, scopes=["webhooks:write"]).get(EVENTS)
    assert answer.status_code == 403
    assert answer.json()["required_scope"] == "events:read"


# --- POST /events/:id/resend -----


def test_resend_queues_another_attempt_with_the_same_delivery_id(
    api, partner, enabled, receiver, django_capture_on_commit_callbacks
):
    receiver.program("/hook", Answer(400), Answer(200))
    event = emit(partner)
    delivery = event.deliveries.get()
    assert deliver(delivery_id=str(delivery.pk)).state == "abandoned"
    with django_capture_on_commit_callbacks() as callbacks:
        answer = api.post(resend_url(event.pk), {}, format="json")
    assert answer.status_code == 202
    assert answer.json()["delivery_id"] == str(delivery.pk)
    assert answer.json()["state"] == "pending"
    assert len(callbacks) == 1
    assert deliver(delivery_id=str(delivery.pk)).state == "delivered"
    first, second = receiver.received()
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert second.headers["x-jopay-delivery-attempt"] == "2"


def test_resend_of_an_event_from_before_enabling_creates_its_delivery(
    api, partner, receiver
):
    event = emit(partner)
    assert not event.deliveries.exists()
    _put(api, {"url": receiver.url(), "enabled": True})
    answer = api.post(resend_url(event.pk), {}, format="json")
    assert answer.status_code == 202
    assert event.deliveries.get().pk == uuid.UUID(answer.json()["delivery_id"])


def test_resend_without_endpoint_is_webhook_not_configured(api, partner):
    event = emit(partner)
    answer = api.post(resend_url(event.pk), {}, format="json")
    assert answer.status_code == 400
    assert answer.json()["error"] == "webhook_not_configured"


def test_resend_foreign_other_mode_missing_and_malformed_ids_are_identical_404(
    api, partner, other_partner, client_for, enabled
):
    live = emit(partner)
    test_event = emit(partner, test_mode=True)
    bob_event = emit(other_partner)
    baseline = api.post(resend_url(uuid.uuid4()), {}, format="json")
    assert baseline.status_code == 404
    assert baseline.json()["error"] == "not_found"
    for client, event_id in [
        (api, test_event.pk),
        (api, bob_event.pk),
        (api, "not-a-uuid"),
        (client_for(other_partner), live.pk),
        (client_for(partner, test_mode=True), live.pk),
    ]:
        answer = client.post(resend_url(event_id), {}, format="json")
        assert answer.status_code == 404
        assert answer.content == baseline.content


def test_resend_of_an_event_past_30_days_is_the_same_404_as_a_missing_id(
    api, partner, enabled, receiver
):
    # D35/D36: the API shows the last 30 days; an older event not yet purged
    # is as gone as a missing one (resending it also kept it from the purge).
    receiver.program("/hook", Answer(400))
    event = emit(partner)
    delivery = event.deliveries.get()
    assert deliver(delivery_id=str(delivery.pk)).state == "abandoned"
    WebhookEvent.objects.filter(pk=event.pk).update(
        created_at=timezone.now() - timedelta(days=30, seconds=1)
    )
    baseline = api.post(resend_url(uuid.uuid4()), {}, format="json")

    answer = api.post(resend_url(event.pk), {}, format="json")

    assert answer.status_code == 404
    assert answer.content == baseline.content
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == ("abandoned", 1)


def test_resend_needs_webhooks_write(client_for, partner):
    event = emit(partner)
    answer = client_for(partner, scopes=["events:read"]).post(
        resend_url(event.pk), {}, format="json"
    )
    assert answer.status_code == 403
    assert answer.json()["required_scope"] == "webhooks:write"


@pytest.mark.parametrize(
    ("method", "path"),
    [("get", ENDPOINT), ("put", ENDPOINT), ("post", TEST), ("get", EVENTS)],
)
def test_every_route_needs_a_key(client, method, path):
    answer = getattr(client, method)(path, {}, content_type="application/json")
    assert answer.status_code == 401
    assert answer.json()["error"] == "unauthorized"


def test_wrong_method_is_method_not_allowed(api):
    assert api.delete(ENDPOINT).json()["error"] == "method_not_allowed"
    assert api.get(resend_url(uuid.uuid4())).json()["error"] == "method_not_allowed"
