"""JSON body parsing that never fails as a 500 or crashes the process (D4, D34).

``json.loads`` recurses once per nesting level. With Python's default limit a
2 KB body of 1 500 brackets raises ``RecursionError`` (which DRF's
``JSONParser``, mapping only ``ValueError``, lets through as a 500); but
``py_ecc``, imported with web3, raises the process's recursion limit to
100 000, and then a ~200 KB body of brackets overflows the C stack and kills
the worker outright. So the nesting depth is measured on the raw text, before
any decoder sees it, and anything deeper than ``MAX_JSON_DEPTH`` is refused as
not a usable JSON body.
"""

from __future__ import annotations

import json
import re
from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.settings import api_settings
from rest_framework.utils.json import strict_constant

# Request bodies are at most two levels deep (a body object holding `metadata`);
# this leaves room for unknown fields (D4 ignores them) and stays far below
# any recursion limit wherever the value is walked again (hashing, storing).
MAX_JSON_DEPTH = 64
# JSON strings (with their escapes), which may hold brackets that nest nothing.
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
_OPEN, _CLOSE = frozenset(b"[{"), frozenset(b"]}")


class JsonTooDeepError(ValueError):
    """A JSON document nested deeper than ``MAX_JSON_DEPTH``."""


def check_json_depth(raw: bytes, limit: int = MAX_JSON_DEPTH) -> None:
    """Raise ``JsonTooDeepError`` if the JSON text ``raw`` nests past ``limit``.

    Linear and non-recursive. A body with at most ``limit`` opening brackets
    cannot nest deeper, which the usual small body shows at C speed; only
    bracket-heavy bodies are scanned. Malformed text is left to the decoder.
    """
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return
    depth = 0
    for byte in _STRING.sub(b'""', raw):
        if byte in _OPEN:
            depth += 1
            if depth > limit:
                raise JsonTooDeepError(f"JSON nested deeper than {limit} levels")
        elif byte in _CLOSE:
            depth -= 1


def load_json(raw: bytes | str) -> Any:
    """``json.loads`` that fails only with ``ValueError`` (malformed, not UTF-8,
    or nested too deeply), never ``RecursionError`` or a crash."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    check_json_depth(data)
    try:
        return json.loads(data)
    except RecursionError:  # unreachable below the depth limit; kept as a guard
        raise JsonTooDeepError("JSON nested too deeply") from None


class JSONParser(parsers.JSONParser):
    """DRF's parser with the depth check first: too deep is ``ParseError``
    (→ ``invalid_body``), like any other unusable body."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = parsers.get_encoding(parser_context or {})
        raw = stream.read() if stream is not None else b""
        try:
            check_json_depth(raw)
            text = raw.decode(encoding)
            parse_constant = strict_constant if api_settings.STRICT_JSON else None
            return json.loads(text, parse_constant=parse_constant)
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply") from None
        except ValueError as exc:  # JsonTooDeepError, UnicodeDecodeError included
            raise ParseError(f"JSON parse error - {exc}") from None
