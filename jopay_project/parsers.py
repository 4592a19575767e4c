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

import codecs
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
# An unterminated one runs to the end of the text (an optional lone backslash
# included), so every opening quote matches in one pass. Requiring the closing
# quote made each quote of ``"\"\"\"…`` (no closer) rescan the rest of the
# text: quadratic, 14 s for a 64 KB body, hours for the 2.5 MB the API reads,
# and the public pay page proof and portal sign-in read bodies with it too.
_STRING = re.compile(rb'"(?:[^"\\]|\\.)*(?:"|\\?\Z)', re.DOTALL)
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


# The charsets a JSON body may declare: JSON is Unicode text (RFC 8259 §8.1
# says UTF-8; RFC 4627 also allowed UTF-16 and UTF-32). Django accepts any
# codec Python knows, and some decode in more than linear time: ``punycode``
# (and ``idna``, which decodes each label with it) is quadratic: a 400 KB body
# declared ``charset=punycode`` held a worker until gunicorn killed it (30 s),
# and three at once stopped a three-worker server, for any key with a write scope.
JSON_CHARSETS = frozenset(
    {"utf-8", "utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"}
)


def json_charset(encoding: str) -> str:
    """``encoding`` if it names a Unicode encoding JSON is sent in, else
    ``ParseError`` (→ ``invalid_body``), before any byte is decoded."""
    try:
        name = codecs.lookup(encoding).name
    except LookupError:
        name = None
    if name not in JSON_CHARSETS:
        raise ParseError(
            f'JSON parse error - the charset "{encoding}" is not one JSON is'
            " sent in (send UTF-8)"
        )
    return encoding


class JSONParser(parsers.JSONParser):
    """DRF's parser with the charset and depth checks first: a body declared in
    a charset JSON is not sent in, or nested too deeply, is ``ParseError``
    (→ ``invalid_body``), like any other unusable body."""

    def parse(self, stream, media_type=None, parser_context=None):
        encoding = json_charset(parsers.get_encoding(parser_context or {}))
        raw = stream.read() if stream is not None else b""
        try:
            text = raw.decode(encoding)
            # On the decoded text: UTF-16 and UTF-32 spell a bracket without a
            # "[" byte (as unicode_escape, utf-7 and cp037 did, once accepted).
            check_json_depth(text.encode("utf-8", "surrogatepass"))
            parse_constant = strict_constant if api_settings.STRICT_JSON else None
            return json.loads(
                text, parse_constant=parse_constant, parse_int=parse_json_int
            )
        except RecursionError:
            raise ParseError("JSON parse error - nested too deeply") from None
        except ValueError as exc:  # JsonTooDeepError, UnicodeDecodeError included
            raise ParseError(f"JSON parse error - {exc}") from None
