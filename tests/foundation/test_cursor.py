"""D34: a list ``cursor`` that does not decode → ``invalid_request`` + ``field``.

The cursor is opaque, so a caller can send anything: every token that is not
one JoPay minted (wrong base64, wrong JSON shape, wrong types, a naive or
out-of-range time) answers the same 400, never a 500, on every v1 list.
"""

from __future__ import annotations

import base64
import json
import uuid
from datetime import UTC, datetime

import pytest
from django.test import Client

from jopay_project.errors import JoPayError
from jopay_project.pagination import decode_cursor, encode_cursor
from tests.factories import MerchantFactory, PartnerUserFactory, UserFactory

TS = "2026-04-17T17:00:00+00:00"
PK = str(uuid.uuid4())


def _token(value: object) -> str:
    raw = json.dumps(value).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


CRAFTED = {
    # The reviewed finding: a JSON number where the id belongs.
    "number_pk": "WyIyMDI0LTAxLTAxVDAwOjAwOjAwKzAwOjAwIiwgNV0",
    "list_pk": _token([TS, [PK]]),
    "object_pk": _token([TS, {"id": PK}]),
    "null_pk": _token([TS, None]),
    "bool_pk": _token([TS, True]),
    "bad_uuid": _token([TS, "not-a-uuid"]),
    "number_time": _token([1713373200, PK]),
    "null_time": _token([None, PK]),
    "list_time": _token([[TS], PK]),
    "naive_time": _token(["2026-04-17T17:00:00", PK]),
    "date_only": _token(["2026-04-17", PK]),
    "garbage_time": _token(["yesterday", PK]),
    "out_of_range_time": _token(["0001-01-01T00:00:00+14:00", PK]),
    "too_short": _token([TS]),
    "too_long": _token([TS, PK, "extra"]),
    "empty_list": _token([]),
    "object": _token({"created_at": TS, "id": PK}),
    "two_key_object": _token({"a": 1, "b": 2}),
    "two_char_string": _token("ab"),
    "number": _token(42),
    "null": _token(None),
    "nested": _token([[[[[[[[[[TS]]]]]]]]], PK]),
    "not_json": base64.urlsafe_b64encode(b"\xff\xfe[not json").decode(),
    "not_base64": "!!!***",
    "bad_padding": "abcde",
    "non_ascii": "é" * 8,
    "huge": "A" * 5000,
}


@pytest.mark.parametrize("name", sorted(CRAFTED))
def test_decode_cursor_refuses_every_crafted_token_with_the_cursor_code(name):
    with pytest.raises(JoPayError) as info:
        decode_cursor(CRAFTED[name])
    assert info.value.code == "invalid_request"
    assert info.value.extra == {"field": "cursor"}


def test_decode_cursor_reads_back_what_encode_cursor_wrote():
    created_at = datetime(2026, 4, 17, 17, 0, 0, 123456, tzinfo=UTC)
    pk = uuid.uuid4()
    assert decode_cursor(encode_cursor(created_at, pk)) == (created_at, pk)


LISTS = [
    "/api/v1/requests",
    "/api/v1/merchants",
    "/api/v1/events",
    "/api/v1/recurring/plans",
]


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("name", sorted(CRAFTED))
def test_every_v1_list_answers_invalid_request_for_a_crafted_cursor(api, path, name):
    response = api.get(path, {"cursor": CRAFTED[name]})
    assert response.status_code == 400, response.content
    body = response.json()
    assert (body["error"], body["field"]) == ("invalid_request", "cursor")


@pytest.mark.parametrize("path", LISTS)
def test_a_minted_cursor_still_pages(api, partner, path):
    MerchantFactory.create_batch(2, partner=partner, test_mode=False)
    # Any well-formed cursor is accepted, even one pointing past every row.
    cursor = encode_cursor(datetime(2000, 1, 1, tzinfo=UTC), uuid.uuid4())
    response = api.get(path, {"cursor": cursor})
    assert response.status_code == 200
    body = response.json()
    assert (body["data"], body["has_more"], body["next_cursor"]) == ([], False, None)


PORTAL_LISTS = [
    "/portal/requests/",
    "/portal/merchants/",
    "/portal/plans/",
    "/portal/webhooks/",
]


@pytest.mark.parametrize("path", PORTAL_LISTS)
@pytest.mark.parametrize("name", ["number_pk", "list_time", "object"])
def test_portal_lists_survive_a_crafted_cursor(partner, path, name):
    user = UserFactory(username="alice@example.com", email="alice@example.com")
    client = Client()
    client.force_login(PartnerUserFactory(user=user, partner=partner).user)
    response = client.get(path, {"cursor": CRAFTED[name]})
    # Each portal list starts over (a redirect) or shows its first page.
    assert response.status_code in (200, 302)
