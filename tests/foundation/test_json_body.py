"""D4/D34: a body nested too deeply is ``invalid_body`` on every v1 JSON route.

``json.loads`` recurses per level: 1 500 brackets (a 3 KB body) raised
``RecursionError``, which DRF's parser does not map, so the API answered 500.
Bodies nested deeper than ``MAX_JSON_DEPTH`` are refused before any code walks
them again (the idempotency hash, the JSON columns).
"""

from __future__ import annotations

import json
import time

import pytest

from jopay_project.parsers import (
    MAX_JSON_DEPTH,
    JsonTooDeepError,
    check_json_depth,
    load_json,
)
from merchants.models import Merchant
from payments.models import PaymentRequest
from recurring.models import Plan
from webhooks.models import WebhookEndpoint

RECURSION = '{"memo":' + "[" * 1500 + "]" * 1500 + "}"


def _nested(depth: int) -> str:
    """A body object whose ``metadata`` holds lists down to ``depth`` levels."""
    return '{"metadata":' + "[" * (depth - 1) + "]" * (depth - 1) + "}"


def _routes(merchant) -> list[tuple[str, str]]:
    return [
        ("post", "/api/v1/requests/create"),
        ("post", "/api/v1/merchants"),
        ("patch", f"/api/v1/merchants/{merchant.pk}"),
        ("post", "/api/v1/recurring/plans"),
        ("put", "/api/v1/webhooks/endpoint"),
    ]


def _snapshot(merchant) -> tuple:
    return (
        PaymentRequest.objects.count(),
        Merchant.objects.count(),
        Plan.objects.count(),
        WebhookEndpoint.objects.count(),
        Merchant.objects.filter(pk=merchant.pk).values().get(),
    )


@pytest.mark.parametrize("raw", [RECURSION, _nested(MAX_JSON_DEPTH + 1), _nested(500)])
def test_every_json_route_answers_invalid_body_for_a_too_deep_body(api, merchant, raw):
    before = _snapshot(merchant)
    for method, path in _routes(merchant):
        response = api.generic(
            method.upper(), path, raw, content_type="application/json"
        )
        assert response.status_code == 400, (path, response.content)
        assert response.json()["error"] == "invalid_body", path
    assert _snapshot(merchant) == before  # nothing written, the PATCH included


def test_a_body_at_the_depth_limit_is_still_parsed(api, merchant):
    # The body parses (metadata is then refused for its shape, not as a body).
    response = api.post(
        "/api/v1/requests/create",
        _nested(MAX_JSON_DEPTH),
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["error"] != "invalid_body"


@pytest.mark.parametrize("raw", [RECURSION, _nested(MAX_JSON_DEPTH + 1)])
def test_load_json_raises_value_error_never_recursion_error(raw):
    with pytest.raises(JsonTooDeepError):
        load_json(raw)
    assert issubclass(JsonTooDeepError, ValueError)


def test_load_json_reads_ordinary_documents():
    doc = {"a": [1, {"b": "c"}], "d": None}
    assert load_json(json.dumps(doc).encode()) == doc
    assert load_json(b"42") == 42


def test_a_body_deep_enough_to_overflow_the_c_stack_is_refused_before_parsing(api):
    # py_ecc (imported with web3) sets the recursion limit to 100 000, so the C
    # decoder would recurse until the stack overflows and the worker dies; the
    # depth is measured on the raw text first. (A regression kills this run.)
    crash = "[" * 300_000 + "]" * 300_000
    response = api.generic(
        "POST", "/api/v1/requests/create", crash, content_type="application/json"
    )
    assert (response.status_code, response.json()["error"]) == (400, "invalid_body")
    with pytest.raises(JsonTooDeepError):
        load_json(crash)


@pytest.mark.parametrize(
    "raw",
    [
        '{"memo": "' + "[{" * 500 + '"}',  # brackets inside a string nest nothing
        '{"memo": "\\"' + "[" * 500 + '", "a": [[1]]}',  # after an escaped quote too
        "[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH,
    ],
)
def test_brackets_in_strings_and_the_limit_itself_pass_the_depth_check(raw):
    check_json_depth(raw.encode())
    load_json(raw)


@pytest.mark.parametrize("length", ["\u00b2", "\u0663", "\uff11"])
def test_a_content_length_of_non_ascii_digits_is_invalid_body(api, merchant, length):
    """``str.isdigit`` is true for "²" and other Unicode digits that ``int``
    refuses (or, for "٣", reads as 3): a WSGI server that passes the header
    through (latin-1: byte 0xB2 is "²") got a 500, not ``invalid_body``."""
    before = _snapshot(merchant)
    for method, path in _routes(merchant):
        response = api.generic(
            method.upper(),
            path,
            b'{"display_name": "x"}',
            content_type="application/json",
            CONTENT_LENGTH=length,
        )
        assert response.status_code == 400, (path, response.content)
        assert response.json()["error"] == "invalid_body", path
    assert _snapshot(merchant) == before


# Quotes with no closing one: ``"\"\"\"…``. The string scan of the depth check
# restarted at each of them and rescanned the rest of the text (quadratic).
UNCLOSED_QUOTES = "[" * (MAX_JSON_DEPTH + 1) + '"' + '\\"' * 32_000


@pytest.mark.parametrize("tail", ["", "\\"])
def test_the_depth_check_is_linear_on_unclosed_strings(tail):
    raw = (UNCLOSED_QUOTES + tail).encode()
    started = time.perf_counter()
    with pytest.raises(JsonTooDeepError):
        check_json_depth(raw)
    # Linear: milliseconds. It took 14 s for these 64 KB (and hours for the
    # 2.5 MB a body may have), holding a worker past gunicorn's timeout.
    assert time.perf_counter() - started < 2


def test_a_body_of_unclosed_quotes_is_refused_at_once(api, merchant):
    started = time.perf_counter()
    response = api.generic(
        "POST",
        "/api/v1/requests/create",
        UNCLOSED_QUOTES,
        content_type="application/json",
    )
    assert (response.status_code, response.json()["error"]) == (400, "invalid_body")
    assert time.perf_counter() - started < 2
