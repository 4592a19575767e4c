"""D4/D34: the JSON depth limit holds whatever ``charset`` the body declares.

Django decodes a body with the ``charset`` of its ``Content-Type`` (any codec
Python knows), but the depth was measured on the raw bytes. With
``charset=unicode_escape`` a bracket can be sent as the six bytes ``\\x5b``
(``utf-7`` as ``+AFs-``, EBCDIC ``cp037`` as one byte 0xBA): no raw ``[``, so
the check counted nothing and the decoder met the nesting. 200 000 levels
(800 KB, under the upload limit) overflowed the C stack and killed the worker
(SIGSEGV: py_ecc raises the recursion limit to 100 000), for any key with a
write scope, a test key included.

Since then a body may declare only a Unicode charset (UTF-8, UTF-16, UTF-32):
any other is ``invalid_body`` before a byte is decoded.
"""

from __future__ import annotations

import pytest

from jopay_project.parsers import MAX_JSON_DEPTH
from tests.foundation.test_json_body import _routes, _snapshot

DEEP = MAX_JSON_DEPTH + 5


def _body(charset: str) -> bytes:
    text = '{"metadata":' + "[" * DEEP + "]" * DEEP + "}"
    if charset == "unicode_escape":
        return text.replace("[", "\\x5b").replace("]", "\\x5d").encode("ascii")
    if charset == "utf-7":  # Python's encoder sends brackets as they are
        return text.replace("[", "+AFs-").replace("]", "+AF0-").encode("ascii")
    return text.encode(charset)


@pytest.mark.parametrize("charset", ["unicode_escape", "utf-7", "cp037"])
def test_a_too_deep_body_is_invalid_body_in_any_declared_charset(
    api, merchant, charset
):
    raw = _body(charset)
    assert b"[" not in raw  # what the raw-byte check counted
    before = _snapshot(merchant)
    for method, path in _routes(merchant):
        response = api.generic(
            method.upper(),
            path,
            raw,
            content_type=f"application/json; charset={charset}",
        )
        assert (response.status_code, response.json()["error"]) == (
            400,
            "invalid_body",
        ), (path, response.content[:200])
    assert _snapshot(merchant) == before


def test_a_shallow_body_in_another_charset_still_parses(api):
    response = api.generic(
        "POST",
        "/api/v1/merchants",
        '{"display_name": "Café"}'.encode("utf-16"),
        content_type="application/json; charset=utf-16",
    )
    assert response.status_code == 201, response.content
    assert response.json()["display_name"] == "Café"


# Bodies that are a valid create once decoded with the charset they declare.
# ``punycode`` decodes in quadratic time (``idna`` with it): a 400 KB body held
# a worker for gunicorn's whole 30 s timeout, then the worker was killed.
OTHER_CHARSETS = {
    "punycode": b'{"display_name": "x"}-',  # the basic part, then no extended part
    "idna": b'{"display_name": "x"}',
    "latin-1": '{"display_name": "Café"}'.encode("latin-1"),
    "utf-7": b'{"display_name": "x"}',
}


@pytest.mark.parametrize("charset", sorted(OTHER_CHARSETS))
def test_a_body_in_a_charset_json_is_not_sent_in_is_invalid_body(api, charset):
    response = api.generic(
        "POST",
        "/api/v1/merchants",
        OTHER_CHARSETS[charset],
        content_type=f"application/json; charset={charset}",
    )

    assert (response.status_code, response.json()["error"]) == (
        400,
        "invalid_body",
    ), response.content
    assert charset in response.json()["message"]


@pytest.mark.parametrize("charset", ["UTF-8", "utf8", "utf-16-le", "UTF-32"])
def test_every_spelling_of_a_unicode_charset_is_read(api, charset):
    response = api.generic(
        "POST",
        "/api/v1/merchants",
        '{"display_name": "Café"}'.encode(charset),
        content_type=f"application/json; charset={charset}",
    )

    assert response.status_code == 201, response.content
    assert response.json()["display_name"] == "Café"
