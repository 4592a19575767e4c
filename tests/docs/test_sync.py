"""The docs cannot drift from the API: endpoints, codes, events, scopes (D3, D35).

Each test reads the thing from the code (the OpenAPI schema, the URL conf,
the error registry, the model choices, the settings) and checks the docs
against it, so adding an endpoint, a code or an event type without writing
about it fails the suite.
"""

from __future__ import annotations

import re

import pytest
from django.test import override_settings

from jopay_project.docs import tables
from jopay_project.docs.endpoints import api_operations, normalize_path, rate_text
from jopay_project.docs.render import PAGES_BY_SLUG, DocsError, expand, render_page
from jopay_project.errors import REGISTRY, ErrorCode
from jopay_project.ratelimits import LIMITS
from merchants.models import ApiKey
from webhooks.models import WebhookEvent

from .blocks import all_markdown, page_blocks

HTTP_METHODS = {"get", "post", "put", "patch", "delete"}


def documented(method: str, path: str, markdown: str) -> bool:
    """``METHOD /path`` appears, not as the prefix of a longer path."""
    pattern = re.escape(f"{method.upper()} {normalize_path(path)}") + r"(?![\w/:{<])"
    return re.search(pattern, markdown) is not None


def page_html(slug: str) -> str:
    return render_page(PAGES_BY_SLUG[slug]).html


@pytest.fixture(scope="module")
def schema_operations(django_db_blocker):
    from rest_framework.test import APIClient

    with django_db_blocker.unblock():
        response = APIClient().get("/api/v1/schema?format=json")
    assert response.status_code == 200
    schema = response.json()
    operations = [
        (method.upper(), path)
        for path, item in schema["paths"].items()
        for method in item
        if method in HTTP_METHODS
    ]
    assert len(operations) >= 15  # the schema really lists the API
    return operations


def test_every_openapi_operation_is_in_the_docs(schema_operations):
    markdown = all_markdown()
    missing = [
        f"{m} {p}" for m, p in schema_operations if not documented(m, p, markdown)
    ]

    assert missing == []


def test_every_v1_view_operation_has_an_endpoint_section():
    # Also the views drf-spectacular could not describe: each one gets an
    # `{{ endpoint METHOD path }}` header, which renders its scope and limit.
    markdown = all_markdown()
    missing = [
        f"{op.method} {op.path}"
        for op in api_operations()
        if f"{{{{ endpoint {op.method} {op.path} }}}}" not in markdown
    ]

    assert missing == []


def test_the_check_notices_an_undocumented_path():
    assert documented(
        "GET", "/api/v1/requests/{request_id}", "GET /api/v1/requests/:id"
    )
    assert not documented("GET", "/api/v1/requests", "GET /api/v1/requests/:id")
    assert not documented("DELETE", "/api/v1/requests/{id}", "GET /api/v1/requests/:id")


def test_every_error_code_is_on_the_errors_page():
    html = page_html("errors")
    missing = [
        code.value for code in ErrorCode if f"<code>{code.value}</code>" not in html
    ]

    assert missing == []


def test_the_errors_table_shows_status_message_and_remedy():
    html = page_html("errors")
    for code, spec in REGISTRY.items():
        row = re.search(
            rf"<tr>\s*<td><code>{code.value}</code></td>(.*?)</tr>", html, re.S
        )
        assert row, code
        cells = row.group(1)
        assert f"<td>{spec.status}</td>" in cells
        assert spec.message.replace("<", "&lt;").replace(">", "&gt;") in cells
        assert spec.remedy.replace("<", "&lt;").replace(">", "&gt;") in cells


def test_every_event_type_is_on_the_events_page():
    html = page_html("events")
    missing = [t for t in WebhookEvent.Type.values if f"<code>{t}</code>" not in html]

    assert missing == []


def test_every_event_type_has_a_description_and_a_payload_example():
    examples = {b.attrs.get("data-event") for b in page_blocks("events")}

    assert set(tables.EVENT_NOTES) == set(WebhookEvent.Type.values)
    assert set(WebhookEvent.Type.values) <= examples


def test_every_scope_is_on_the_authentication_page_with_its_endpoints():
    # Each endpoint in its own scope's row: only their presence somewhere on
    # the page was checked, so an endpoint listed under the wrong scope (a
    # partner minting a key that then answers insufficient_scope) passed.
    html = page_html("authentication")
    rows = {
        scope: set(re.findall(r"<code>([A-Z]+ /[^<]+)</code>", endpoints))
        for scope, endpoints in re.findall(
            r"<tr>\s*<td>(?:<code>)?([^<]+?)(?:</code>)?</td>\s*<td>(.*?)</td>",
            html,
            re.S,
        )
    }
    for scope in ApiKey.Scope.values:
        assert scope in rows, scope
    for op in api_operations():
        assert f"{op.method} {op.path}" in rows[op.scope or "any key"], op
    assert "POST /api/v1/merchants" in rows["merchants:write"]
    assert "GET /api/v1/requests/:id" in rows["requests:read"]


def test_every_rate_limit_is_on_the_rate_limits_page():
    # Each route with its own limit and key: the route alone was checked, so
    # a page stating the wrong number for a route passed.
    html = page_html("rate-limits")
    rows = set(
        re.findall(
            r"<tr>\s*<td><code>([^<]+)</code></td>\s*<td>([^<]+)</td>"
            r"\s*<td>([^<]+)</td>\s*</tr>",
            html,
        )
    )
    for limit in LIMITS.values():
        route = limit.route.replace("<", "&lt;").replace(">", "&gt;")
        assert (route, rate_text(limit.rate), limit.per) in rows, limit
    assert ("POST /api/v1/merchants", "30 per minute", "API key") in rows
    assert ("POST /pay/&lt;id&gt;/proof", "10 per hour", "request") in rows


def test_endpoint_headers_show_the_views_scope_and_limit():
    html = page_html("requests")

    assert (
        '<span class="http-method post">POST</span> '
        "<code>/api/v1/requests/create</code>"
        '<span class="meta">scope <code>requests:write</code></span>'
        '<span class="meta">60 per minute per API key</span>'
    ) in html
    # Every header, not only create's (60 per minute, like most routes).
    merchants = page_html("merchants")
    assert (
        "<code>/api/v1/merchants</code>"
        '<span class="meta">scope <code>merchants:write</code></span>'
        '<span class="meta">30 per minute per API key</span>'
    ) in merchants
    everything = "".join(page_html(slug) for slug in PAGES_BY_SLUG)
    for op in api_operations():
        scope = f"scope <code>{op.scope}</code>" if op.scope else "any key"
        limit = (
            f"{rate_text(op.limit.rate)} per {op.limit.per}"
            if op.limit
            else "not rate limited"
        )
        header = (
            f'<span class="http-method {op.method.lower()}">{op.method}</span> '
            f'<code>{op.path}</code><span class="meta">{scope}'
            f"{'' if op.scope else ' (no scope needed)'}</span>"
            f'<span class="meta">{limit}</span>'
        )
        assert header in everything, (op.method, op.path)


def test_the_retry_schedule_follows_the_setting():
    with override_settings(JOPAY_WEBHOOK_RETRY_SCHEDULE=[90, 7200]):
        html = page_html("events")

    assert "<td>1 min 30 s</td>" in html
    assert "<td>2 h 1 min 30 s</td>" in html
    assert "That is 3 attempts in all" in html


def test_the_default_retry_schedule_is_rendered():
    # D24: 1 min … 15 h, 11 tries over about 72 h.
    html = page_html("events")

    assert "That is 11 attempts in all" in html
    assert "<td>2 d 23 h 36 min</td>" in html


def test_an_endpoint_header_for_a_missing_route_fails_the_render():
    with pytest.raises(DocsError):
        expand("{{ endpoint GET /api/v1/no-such-thing }}")
    with pytest.raises(DocsError):
        expand("{{ endpoint DELETE /api/v1/requests/:id }}")


def test_an_unknown_placeholder_fails_the_render():
    with pytest.raises(DocsError):
        expand("{{ bogus_table }}")


def test_table_cells_cannot_break_the_table():
    assert tables.cell("a | b <c>") == "a &#124; b &lt;c&gt;"


def test_every_error_code_has_a_kind_on_the_errors_page():
    """'What to do, by kind' says for each code whether to retry (D3)."""
    section = (
        PAGES_BY_SLUG["errors"].path.read_text().split("## What to do, by kind")[1]
    )
    table = section.split("\n\n")[1]
    listed = set(re.findall(r"`([a-z_]+)`", table))
    patterns = set(re.findall(r"`([a-z_]+)_\*`", table))
    unkinded = [
        code.value
        for code in ErrorCode
        if code.value not in listed
        and not any(code.value.startswith(p + "_") for p in patterns)
    ]
    assert unkinded == []
