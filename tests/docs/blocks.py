"""Reading the docs' Markdown the way a reader copies from it: fenced blocks, curl.

Blocks carry attributes in the fence (``{ .json data-example="requests.create:
response" }``), which the ``attr_list`` + ``fenced_code`` extensions render
as HTML attributes; the tests find the blocks they check by those attributes.
"""

from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass, field
from typing import Any

from jopay_project.docs.render import PAGES, PAGES_BY_SLUG, source_text

FENCE = re.compile(r"^```(?P<info>[^\n`]*)\n(?P<code>.*?)^```[ \t]*$", re.M | re.S)
ATTR = re.compile(r'([\w-]+)="([^"]*)"')


@dataclass(frozen=True)
class Block:
    lang: str
    code: str
    attrs: dict[str, str] = field(default_factory=dict)


def blocks(markdown: str) -> list[Block]:
    """Every fenced block: ```lang or ```{ .lang key="value" }."""
    found = []
    for match in FENCE.finditer(markdown):
        info, code = match.group("info").strip(), match.group("code")
        if info.startswith("{"):
            classes = re.findall(r"(?<![\w-])\.([\w-]+)", info)
            found.append(
                Block(classes[0] if classes else "", code, dict(ATTR.findall(info)))
            )
        else:
            found.append(Block(info, code))
    return found


def page_blocks(slug: str) -> list[Block]:
    return blocks(source_text(PAGES_BY_SLUG[slug]))


def page_text(slug: str) -> str:
    """Page ``slug``'s Markdown on one line, white space folded (for phrases)."""
    return " ".join(source_text(PAGES_BY_SLUG[slug]).split())


def all_markdown() -> str:
    return "\n".join(source_text(page) for page in PAGES)


def one_block(slug: str, *, lang: str | None = None, **attrs: str) -> Block:
    """The single block of page ``slug`` with these attributes (data_x → data-x)."""
    wanted = {k.replace("_", "-"): v for k, v in attrs.items()}
    matches = [
        b
        for b in page_blocks(slug)
        if all(b.attrs.get(k) == v for k, v in wanted.items())
        and (lang is None or b.lang == lang)
    ]
    assert len(matches) == 1, f"expected one block {wanted} on /docs/{slug}/"
    return matches[0]


@dataclass(frozen=True)
class Curl:
    method: str
    path: str
    headers: dict[str, str]
    body: Any  # parsed JSON, or None


def parse_curl(command: str) -> Curl:
    """A documented ``curl``: method, path under ``$JOPAY_URL``, headers, body."""
    tokens = shlex.split(command.replace("\\\n", " "))
    assert tokens[0] == "curl", command
    method, url, headers, data = None, None, {}, None
    args = iter(tokens[1:])
    for token in args:
        if token in ("-X", "--request"):
            method = next(args)
        elif token in ("-H", "--header"):
            name, _, value = next(args).partition(":")
            headers[name.strip().lower()] = value.strip()
        elif token in ("-d", "--data", "--data-raw"):
            data = next(args)
        elif token.startswith("-"):
            continue  # -s and friends
        else:
            url = token
    assert url, command
    assert url.startswith("$JOPAY_URL/"), f"not a JoPay URL: {url}"
    body = json.loads(data) if data is not None else None
    return Curl(
        method=method or ("POST" if data is not None else "GET"),
        path=url.removeprefix("$JOPAY_URL"),
        headers=headers,
        body=body,
    )


def key_shape(value: Any) -> Any:
    """The keys of a JSON value, recursively (values dropped; lists by their items)."""
    if isinstance(value, dict):
        return {k: key_shape(v) for k, v in value.items()}
    if isinstance(value, list):
        shapes = [key_shape(item) for item in value]
        return shapes[:1]
    return None


_VALUE_FORMATS = (
    ("timestamp", re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")),  # D1
    ("uuid", re.compile(r"[0-9a-f]{8}(?:-[0-9a-f]{4}){3}-[0-9a-f]{12}")),
    ("digits", re.compile(r"\d+")),  # usdc_micro, value_micro
    ("address", re.compile(r"0x[0-9a-fA-F]{40}")),
    ("hash", re.compile(r"0x[0-9a-f]{64}")),
    ("url", re.compile(r"https?://\S+")),
)


def value_kind(value: Any) -> str:
    """A JSON value's type, and for strings the format a reader would rely on."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, str):
        for kind, pattern in _VALUE_FORMATS:
            if pattern.fullmatch(value):
                return kind
        return "str"
    return type(value).__name__


def value_mismatches(documented: Any, live: Any, prefix: str = "") -> list[str]:
    """Where a documented value's type or format differs from the live one's.

    Recursive over the documented keys (``key_shape`` checks the keys). A
    ``null`` on either side is not compared: nullable fields are shown filled
    in or empty depending on the example's state.
    """
    if documented is None or live is None:
        return []
    if isinstance(documented, dict) and isinstance(live, dict):
        return [
            problem
            for key, value in documented.items()
            if key in live
            for problem in value_mismatches(value, live[key], f"{prefix}{key}.")
        ]
    if isinstance(documented, list) and isinstance(live, list):
        if documented and live:
            return value_mismatches(documented[0], live[0], f"{prefix}[0].")
        return []
    doc_kind, live_kind = value_kind(documented), value_kind(live)
    if doc_kind != live_kind:
        where = prefix.rstrip(".")
        return [
            f"{where}: documented {documented!r} ({doc_kind}), "
            f"live {live!r} ({live_kind})"
        ]
    return []
