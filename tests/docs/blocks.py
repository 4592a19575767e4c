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
