"""The site's root and its favicon: no debug 404 page for a reader of the README."""

from __future__ import annotations


def test_the_root_leads_to_the_partner_docs(client):
    response = client.get("/")
    assert (response.status_code, response["Location"]) == (302, "/docs/")


def test_favicon_is_an_empty_answer_not_a_404(client):
    response = client.get("/favicon.ico")
    assert (response.status_code, response.content) == (204, b"")
