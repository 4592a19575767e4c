"""/docs/ pages (D35): every page renders with the sidebar, in the portal's look."""

from __future__ import annotations

import re

import pytest

from jopay_project.docs.render import EXTRA_LINKS, PAGES


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.slug or "index")
def test_every_page_renders_with_the_sidebar(client, page):
    response = client.get(page.url)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    sidebar = html.split('<nav class="docs-sidebar"', 1)[1].split("</nav>", 1)[0]
    for other in PAGES:
        assert f'href="{other.url}"' in sidebar
    for _section, _label, url in EXTRA_LINKS:
        assert f'href="{url}"' in sidebar
    # The current page is marked, and only it.
    assert re.findall(r'href="([^"]+)" class="current"', sidebar) == [page.url]
    # The portal's base template and stylesheet, plus the docs' own.
    assert "css/jopay.css" in html
    assert "css/docs.css" in html
    # Every placeholder was expanded.
    assert "{{" not in html


def test_the_sidebar_links_to_the_api_reference(client):
    html = client.get("/docs/").content.decode()

    assert 'href="/docs/api/"' in html


def test_page_title_is_the_first_heading(client):
    html = client.get("/docs/quickstart/").content.decode()

    assert "<title>Quickstart · JoPay docs</title>" in html
    assert '<h1 id="quickstart">Quickstart</h1>' in html


def test_headings_feed_the_on_this_page_list(client):
    html = client.get("/docs/events/").content.decode()
    toc = html.split('<aside class="docs-toc"', 1)[1].split("</aside>", 1)[0]

    assert 'href="#verifying-signatures"' in toc
    assert 'href="#rotating-the-secret"' in toc


@pytest.mark.parametrize("path", ["/docs/nope/", "/docs/index/", "/docs/errors/x/"])
def test_unknown_pages_are_404(client, path):
    assert client.get(path).status_code == 404


def test_docs_are_read_only(client):
    assert client.post("/docs/errors/").status_code == 405


def test_the_api_reference_is_still_served_at_docs_api(client):
    # /docs/api/ belongs to the Redoc view (D3), not to a Markdown page.
    response = client.get("/docs/api/")

    assert response.status_code == 200
    assert "redoc" in response.content.decode().lower()


def test_internal_doc_links_point_at_existing_pages(client):
    known = {page.url for page in PAGES} | {url for *_, url in EXTRA_LINKS}
    for page in PAGES:
        html = client.get(page.url).content.decode()
        for target in re.findall(r'href="(/docs/[^"#]*)', html):
            assert target in known, f"{page.url} links to missing {target}"


def test_internal_doc_anchors_point_at_existing_headings(client):
    # A link to /docs/page/#heading must land on that heading: the id is made
    # from the heading's text, so renaming a heading breaks links silently.
    ids = {}
    html = {}
    for page in PAGES:
        html[page.url] = client.get(page.url).content.decode()
        ids[page.url] = set(re.findall(r'\sid="([^"]+)"', html[page.url]))
    broken = [
        f"{url} links to {target or url}#{anchor}"
        for url, page_html in html.items()
        for target, anchor in re.findall(r'href="(/docs/[^"#]*)?#([^"]+)"', page_html)
        if anchor not in ids.get(target or url, set())
    ]

    assert broken == []
    assert len(re.findall(r'href="[^"]*#', "".join(html.values()))) >= 20
