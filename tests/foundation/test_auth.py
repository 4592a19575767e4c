"""D6–D9: bearer keys, unauthorized vs auth_failed, scopes, modes."""

from datetime import UTC, datetime, timedelta
from datetime import timezone as timezone_of

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from merchants.keys import api_key_authenticate, api_key_create, api_key_revoke
from merchants.models import ApiKey

URL = "/api/v1/merchants"


def _get(headers: dict | None = None):
    return APIClient().get(URL, **(headers or {}))


@pytest.mark.django_db
@pytest.mark.parametrize(
    "header", [None, "", "Basic dXNlcjpwYXNz", "Token abc", "Bearer"]
)
def test_missing_or_non_bearer_header_is_unauthorized(header):
    response = _get({} if header is None else {"HTTP_AUTHORIZATION": header})
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    assert response.json()["ok"] is False
    assert response["WWW-Authenticate"] == 'Bearer realm="jopay"'  # RFC 7235


@pytest.mark.django_db
@pytest.mark.parametrize(
    "value",
    [
        "Bearer garbage",
        "Bearer jo_live_short",
        "Bearer jo_prod_" + "a" * 32,
        "Bearer jo_live_" + "a" * 31 + "!",
        "Bearer jo_live_" + "a" * 32,  # well-formed, unknown
    ],
)
def test_malformed_or_unknown_bearer_is_auth_failed(value):
    response = _get({"HTTP_AUTHORIZATION": value})
    assert response.status_code == 401
    assert response.json()["error"] == "auth_failed"


def test_revocation_takes_effect_on_the_next_request(partner):
    key, full = api_key_create(partner=partner, test_mode=False)
    client = APIClient(HTTP_AUTHORIZATION=f"Bearer {full}")
    assert client.get(URL).status_code == 200
    api_key_revoke(key=key)
    response = client.get(URL)
    assert response.status_code == 401
    assert response.json()["error"] == "auth_failed"


def test_expired_key_is_auth_failed(partner):
    key, full = api_key_create(
        partner=partner, test_mode=True, expires_at=timezone.now() + timedelta(hours=1)
    )
    ApiKey.objects.filter(pk=key.pk).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    response = APIClient(HTTP_AUTHORIZATION=f"Bearer {full}").get(URL)
    assert response.json()["error"] == "auth_failed"


def test_an_expiry_past_9999_in_utc_is_refused_at_creation(partner):
    """9999-12-31T23:59:59-05:00 is year 10 000 in UTC: PostgreSQL stored it,
    psycopg could not read it back, and every call with the key answered 500."""
    late = datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone_of(timedelta(hours=-5)))
    with pytest.raises(ValueError, match="9999"):
        api_key_create(partner=partner, test_mode=True, expires_at=late)
    assert not ApiKey.objects.filter(partner=partner).exists()
    key, _ = api_key_create(
        partner=partner, test_mode=True, expires_at=late + timedelta(hours=-5)
    )
    key.refresh_from_db()
    assert key.expires_at == datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)


def test_key_of_inactive_partner_is_auth_failed(partner, api):
    partner.is_active = False
    partner.save()
    assert api.get(URL).json()["error"] == "auth_failed"


def test_missing_scope_is_403_with_required_scope(partner, client_for):
    client = client_for(partner, scopes=["requests:read"])
    response = client.get(URL)
    assert response.status_code == 403
    assert response.json() == {
        "ok": False,
        "error": "insufficient_scope",
        "message": response.json()["message"],
        "required_scope": "merchants:read",
    }


def test_write_scope_does_not_imply_read(partner, client_for):
    client = client_for(partner, scopes=["merchants:write"])
    assert client.get(URL).json()["required_scope"] == "merchants:read"


def test_key_format_and_storage(partner):
    key, full = api_key_create(partner=partner, test_mode=True)
    assert full.startswith("jo_test_")
    assert len(full) == len("jo_test_") + 32
    assert key.prefix == full[:12]
    assert full not in str(ApiKey.objects.filter(pk=key.pk).values().get())


def test_empty_scope_list_is_refused(partner):
    with pytest.raises(ValueError, match="empty"):
        api_key_create(partner=partner, test_mode=False, scopes=[])


def test_last_used_at_is_written_at_most_once_a_minute(partner):
    key, full = api_key_create(partner=partner, test_mode=False)
    first = api_key_authenticate(full).last_used_at
    assert first is not None
    assert api_key_authenticate(full).last_used_at == first
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=first - timedelta(minutes=2))
    assert api_key_authenticate(full).last_used_at > first - timedelta(minutes=2)


def test_concurrent_calls_with_a_stale_read_write_last_used_at_once(
    partner, monkeypatch
):
    # D6: another call wrote last_used_at after this one read the key row.
    from merchants import keys

    key, full = api_key_create(partner=partner, test_mode=False)
    stale = keys._key_with_partner(keys.hash_key(full))  # last_used_at still None
    fresh = timezone.now() - timedelta(seconds=5)
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=fresh)
    monkeypatch.setattr(keys, "_key_with_partner", lambda _hash: stale)
    api_key_authenticate(full)
    assert ApiKey.objects.get(pk=key.pk).last_used_at == fresh  # not written again
