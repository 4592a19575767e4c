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


# Python refuses to convert a digit string past ``sys.get_int_max_str_digits()``
# (4 300 by default), so ``json.loads`` raised ``ValueError`` for a JSON integer
# that long and the body was ``invalid_body``. But it is a JSON integer, and
# an out-of-range one (D13: ``invalid_amount`` for ``fiat_amount_int``). A
# literal of more than ``MAX_INT_DIGITS`` digits parses to ``±OVERSIZED_INT``:
# an ``int`` (not a bool or float) no larger in magnitude than the number
# written (JSON has no leading zeros), so every range check answers as it
# would for the real value and each field gives its own code (D4). Its 4 001
# digits stay under the limit, so the body can still be hashed (D17).
MAX_INT_DIGITS = 4000
OVERSIZED_INT = 10**MAX_INT_DIGITS


def parse_json_int(literal: str) -> int:
    """``int(literal)``, or ``±OVERSIZED_INT`` for a literal too long to convert."""
    negative = literal.startswith("-")
    if len(literal) - negative > MAX_INT_DIGITS:
        return -OVERSIZED_INT if negative else OVERSIZED_INT
    return int(literal)


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
            text = raw.decode(encoding)
            # On the decoded text: the body's declared charset (any Python
            # codec) may spell a bracket without a "[" byte ("\x5b" in
            # unicode_escape, "+AFs-" in utf-7, 0xBA in cp037).
            check_json_depth(text.encode("utf-8", "surrogatepass"))
            parse_constant = strict_constant if api_settings.STRICT_JSON else None
            return json.loads(
                text, parse_constant=parse_constant, parse_int=parse_json_int
            )
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply") from None
        except ValueError as exc:  # JsonTooDeepError, UnicodeDecodeError included
            raise ParseError(f"JSON parse error - {exc}") from None
