"""``PUT /api/v1/webhooks/endpoint``: unusable input is a 400, not a 500 (D4, D26, D34).

A lone surrogate in ``url`` (valid as the JSON escape ``"\\ud800"``) passed the
URL checks and failed as a 500 when saved; a non-numeric ``Content-Length``
failed as a 500 in the endpoint's own copy of the body reader.
"""

from __future__ import annotations

import pytest

from webhooks.models import WebhookEndpoint

ENDPOINT = "/api/v1/webhooks/endpoint"


def _put_raw(client, raw: str, **extra):
    return client.generic(
        "PUT", ENDPOINT, raw.encode(), content_type="application/json", **extra
    )


@pytest.mark.parametrize(
    "escaped",
    [
        r"https://8.8.8.8/\ud800",
        r"https://8.8.8.8/hook?x=\udc00",
        r"https://\ud800.example.com/hook",
        r"https://8.8.8.8/\u0080hook",  # a C1 control character (storable, unusable)
    ],
)
def test_a_url_with_a_lone_surrogate_or_control_character_is_invalid_webhook_url(
    api, partner, escaped
):
    response = _put_raw(api, '{"url": "' + escaped + '", "enabled": true}')

    assert response.status_code == 400, response.content
    body = response.json()
    assert (body["error"], body["field"]) == ("invalid_webhook_url", "url")
    assert not WebhookEndpoint.objects.filter(partner=partner).exclude(url="").exists()


@pytest.mark.parametrize("length", ["abc", "-1", "1e3", " "])
def test_a_non_numeric_content_length_is_invalid_body(api, partner, length):
    response = _put_raw(api, '{"url": ""}', CONTENT_LENGTH=length)

    assert response.status_code == 400, response.content
    assert response.json()["error"] == "invalid_body"
    assert not WebhookEndpoint.objects.filter(partner=partner).exists()


def test_a_usable_body_is_still_read(api, partner):
    # The shared reader (merchants.api.serializers.json_object_body) takes a
    # charset parameter and answers the endpoint as before.
    response = api.generic(
        "PUT",
        ENDPOINT,
        b'{"url": "https://8.8.8.8/hook"}',
        content_type="application/json; charset=utf-8",
    )

    assert response.status_code == 200, response.content
    assert WebhookEndpoint.objects.get(partner=partner).url == "https://8.8.8.8/hook"
