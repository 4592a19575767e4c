"""``/docs/`` and ``/docs/<page>/`` (D35): the developer docs, public, no login."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from .render import PAGES, PAGES_BY_SLUG, render_page, sidebar


@require_safe
def docs_page(request: HttpRequest, slug: str = "") -> HttpResponse:
    """One docs page with the sidebar; unknown pages are a plain 404."""
    page = PAGES_BY_SLUG.get(slug)
    if page is None:
        raise Http404("no such docs page")
    rendered = render_page(page)
    index = PAGES.index(page)
    context = {
        "rendered": rendered,
        "sidebar": sidebar(),
        "current_url": page.url,
        "previous": PAGES[index - 1] if index > 0 else None,
        "next": PAGES[index + 1] if index + 1 < len(PAGES) else None,
    }
    return render(request, "docs/page.html", context)
