"""JSON body parsing that never fails as a 500 (D4, D34).

``json.loads`` recurses once per nesting level, so a 2 KB body of 1 500
brackets raises ``RecursionError``, which DRF's ``JSONParser`` (it maps only
``ValueError``) lets through as an unhandled error. Bodies here are flat
objects; anything nested deeper than ``MAX_JSON_DEPTH`` is refused as not a
usable JSON body before it reaches code that walks it again (hashing, storing).
"""

from __future__ import annotations

import json
from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError

# Request bodies are at most two levels deep (a body object holding `metadata`);
# this leaves room for unknown fields (D4 ignores them) and stays far below
# Python's recursion limit wherever the value is walked again.
MAX_JSON_DEPTH = 64


class JsonTooDeepError(ValueError):
    """A JSON document nested deeper than ``MAX_JSON_DEPTH``."""


def check_json_depth(value: Any, limit: int = MAX_JSON_DEPTH) -> None:
    """Raise ``JsonTooDeepError`` past ``limit`` levels; iterative, never recursing."""
    stack = [(value, 1)] if isinstance(value, dict | list) else []
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            raise JsonTooDeepError(f"JSON nested deeper than {limit} levels")
        children = node.values() if isinstance(node, dict) else node
        stack.extend(
            (child, depth + 1) for child in children if isinstance(child, dict | list)
        )


def load_json(raw: bytes | str) -> Any:
    """``json.loads`` that fails only with ``ValueError`` (malformed, not UTF-8,
    or nested too deeply), never ``RecursionError``."""
    try:
        value = json.loads(raw)
    except RecursionError:
        raise JsonTooDeepError("JSON nested too deeply") from None
    check_json_depth(value)
    return value


class JSONParser(parsers.JSONParser):
    """DRF's parser, plus too-deep bodies as ``ParseError`` (→ ``invalid_body``)."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply") from None
        try:
            check_json_depth(data)
        except JsonTooDeepError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        return data
