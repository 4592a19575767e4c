"""The developer docs (D35): Markdown pages in ``docs/site/`` rendered to HTML.

Each page is hand-written Markdown; the parts that must never drift from the
code are placeholders that are expanded *before* Markdown conversion:

``{{ errors_table }}``           every ``ErrorCode`` with status, message, remedy
``{{ rate_limits_table }}``      ``jopay_project.ratelimits.LIMITS``
``{{ scopes_table }}``           ``ApiKey.Scope`` and the endpoints each one opens
``{{ retry_schedule_table }}``   ``settings.JOPAY_WEBHOOK_RETRY_SCHEDULE``
``{{ event_types_table }}``      ``WebhookEvent.Type``
``{{ currencies_table }}``       ``payments.money`` (the 28 and their exponents)
``{{ chains_table }}``           ``payments.chain.defaults.DEFAULT_CHAINS``
``{{ endpoint GET /api/v1/… }}`` the route's scope and rate limit, read from
                                 the view that serves it

An unknown placeholder, or an ``endpoint`` line naming a route or method that
does not exist, raises ``DocsError``: the test suite renders every page, so a
renamed or removed endpoint fails the build instead of leaving a stale page.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import markdown
from django.conf import settings

from . import tables
from .endpoints import endpoint_meta_html

SITE_DIR = Path(settings.BASE_DIR) / "docs" / "site"
MARKDOWN_EXTENSIONS = ["tables", "fenced_code", "toc", "attr_list"]
EXTENSION_CONFIGS = {"toc": {"permalink": False}}

# {{ name }} or {{ name arg arg … }}; names are lower-case identifiers.
PLACEHOLDER = re.compile(r"\{\{\s*([a-z_]+)((?:[ \t]+[^\s}]+)*)\s*\}\}")


class DocsError(RuntimeError):
    """A page cannot be rendered: unknown placeholder, route, or file."""


@dataclass(frozen=True)
class Page:
    slug: str  # "" for the overview at /docs/
    title: str  # the sidebar label
    source: str  # file name under docs/site/
    section: str

    @property
    def url(self) -> str:
        return f"/docs/{self.slug}/" if self.slug else "/docs/"

    @property
    def path(self) -> Path:
        return SITE_DIR / self.source


# The sidebar, in order (D35: the pages every partner integration needs).
PAGES: tuple[Page, ...] = (
    Page("", "Overview", "index.md", "Getting started"),
    Page("quickstart", "Quickstart", "quickstart.md", "Getting started"),
    Page("authentication", "Authentication", "authentication.md", "Getting started"),
    Page("requests", "Payment requests", "requests.md", "API"),
    Page("merchants", "Merchants", "merchants.md", "API"),
    Page("recurring", "Recurring plans", "recurring.md", "API"),
    Page("fx", "FX rates", "fx.md", "API"),
    Page("events", "Events and webhooks", "events.md", "API"),
    Page("rate-limits", "Rate limits", "rate-limits.md", "Reference"),
    Page("errors", "Errors", "errors.md", "Reference"),
    Page("patterns", "Integration patterns", "patterns.md", "Guides"),
)
PAGES_BY_SLUG: dict[str, Page] = {page.slug: page for page in PAGES}
# Links in the sidebar that are not Markdown pages.
EXTRA_LINKS: tuple[tuple[str, str, str], ...] = (
    ("Reference", "API reference (OpenAPI)", "/docs/api/"),
)


@dataclass(frozen=True)
class TocEntry:
    id: str
    name: str
    level: int


@dataclass(frozen=True)
class RenderedPage:
    page: Page
    title: str  # the page's first heading
    html: str
    toc: list[TocEntry] = field(default_factory=list)


def _placeholders() -> dict[str, Callable[[list[str]], str]]:
    def no_args(fn: Callable[[], str]) -> Callable[[list[str]], str]:
        def call(args: list[str]) -> str:
            if args:
                raise DocsError(f"{fn.__name__} takes no arguments")
            return fn()

        return call

    return {
        "errors_table": no_args(tables.errors_table),
        "rate_limits_table": no_args(tables.rate_limits_table),
        "scopes_table": no_args(tables.scopes_table),
        "retry_schedule_table": no_args(tables.retry_schedule_table),
        "event_types_table": no_args(tables.event_types_table),
        "currencies_table": no_args(tables.currencies_table),
        "chains_table": no_args(tables.chains_table),
        "endpoint": _endpoint,
    }


def _endpoint(args: list[str]) -> str:
    if len(args) != 2:
        raise DocsError("use {{ endpoint METHOD /api/v1/path }}")
    return endpoint_meta_html(args[0], args[1])


def expand(text: str) -> str:
    """Replace every placeholder in ``text``; raises ``DocsError`` on an unknown one."""
    handlers = _placeholders()

    def replace(match: re.Match[str]) -> str:
        name, raw_args = match.group(1), match.group(2).split()
        if name not in handlers:
            raise DocsError(f"unknown docs placeholder {{{{ {name} }}}}")
        # Blank lines around generated blocks keep them separate Markdown blocks.
        return "\n" + handlers[name](raw_args).strip("\n") + "\n"

    return PLACEHOLDER.sub(replace, text)


def source_text(page: Page) -> str:
    try:
        return page.path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DocsError(f"docs page source missing: {page.path}") from None


def render_page(page: Page) -> RenderedPage:
    """The page as HTML with its title and table of contents. Never returns partial
    output: a bad placeholder raises ``DocsError``.

    Placeholders are expanded on every call (cheap, and always current); the
    Markdown conversion, the slow part, is cached on the expanded text, so an
    edited page or a changed setting renders fresh without any invalidation.
    """
    html, title, toc = _convert(expand(source_text(page)))
    return RenderedPage(page=page, title=title or page.title, html=html, toc=list(toc))


@lru_cache(maxsize=64)
def _convert(text: str) -> tuple[str, str | None, tuple[TocEntry, ...]]:
    md = markdown.Markdown(
        extensions=MARKDOWN_EXTENSIONS, extension_configs=EXTENSION_CONFIGS
    )
    html = md.convert(text)
    tokens = getattr(md, "toc_tokens", [])
    title = tokens[0]["name"] if tokens and tokens[0]["level"] == 1 else None
    toc: list[TocEntry] = []

    def walk(items: list[dict]) -> None:
        for item in items:
            if item["level"] in (2, 3):
                toc.append(TocEntry(item["id"], item["name"], item["level"]))
            walk(item.get("children", []))

    walk(tokens)
    return html, title, tuple(toc)


def sidebar() -> list[tuple[str, list[tuple[str, str]]]]:
    """``[(section, [(label, url), …]), …]`` in page order, extra links last."""
    sections: dict[str, list[tuple[str, str]]] = {}
    for page in PAGES:
        sections.setdefault(page.section, []).append((page.title, page.url))
    for section, label, url in EXTRA_LINKS:
        sections.setdefault(section, []).append((label, url))
    return list(sections.items())
