"""Where the docs describe each v1 endpoint, read from the rendered pages.

Every endpoint section starts with an ``{{ endpoint METHOD path }}`` header
(``test_sync`` makes sure of it); the heading just above that header names
the section. The OpenAPI document links each operation to it
(``jopay_project.schema.describe_operations``), so a generated client's
comment or a Redoc reader lands on the partner-facing reference instead of
the views' docstrings, which are written for JoPay's own developers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from html import unescape

from .render import PAGES, render_page

_HEADING = re.compile(r'<h[23] id="(?P<id>[^"]+)">(?P<title>.*?)</h[23]>', re.S)
_ENDPOINT = re.compile(
    r'<div class="endpoint-meta"><span class="http-method \w+">(?P<method>\w+)'
    r"</span> <code>(?P<path>[^<]+)</code>"
)
_TAG = re.compile(r"<[^>]+>")


@dataclass(frozen=True)
class Section:
    slug: str
    anchor: str
    title: str

    @property
    def url(self) -> str:
        page = f"/docs/{self.slug}/" if self.slug else "/docs/"
        return f"{page}#{self.anchor}"


def endpoint_sections() -> dict[tuple[str, str], Section]:
    """``{("POST", "/api/v1/requests/create"): Section(...), ...}``.

    Paths are spelled as the docs spell them (``:id`` for a parameter). Pages
    are rendered through ``render_page``'s cache, so this is cheap after the
    first call.
    """
    sections: dict[tuple[str, str], Section] = {}
    for page in PAGES:
        html = render_page(page).html
        marks = sorted(
            [(m.start(), m) for m in _HEADING.finditer(html)]
            + [(m.start(), m) for m in _ENDPOINT.finditer(html)],
            key=lambda item: item[0],
        )
        heading = None
        for _, match in marks:
            if match.re is _HEADING:
                title = unescape(_TAG.sub("", match["title"])).strip()
                heading = Section(page.slug, match["id"], title)
            elif heading is not None:
                key = (match["method"], unescape(match["path"]))
                sections.setdefault(key, heading)
    return sections
