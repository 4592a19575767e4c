"""Every error example on the docs pages is what the API answers (D2, D3).

Each ``{"ok": false, ...}`` block shown on a page must carry a code of the
registry, that code's own message (the pages show the default sentence),
and only the extra keys the API adds to that code.
"""

from __future__ import annotations

import json

from jopay_project.docs.render import PAGES, source_text
from jopay_project.errors import ErrorCode
from tests.docs.blocks import blocks

EXTRA_KEYS = {
    "insufficient_scope": {"required_scope"},
    "currency_mismatch": {"expected_fiat_code"},
    "rate_limited": {"retry_after"},
}


def documented_errors() -> list[tuple[str, dict]]:
    found = []
    for page in PAGES:
        for block in blocks(source_text(page)):
            if block.lang != "json":
                continue
            shown = json.loads(block.code)
            if isinstance(shown, dict) and shown.get("ok") is False:
                found.append((page.slug or "overview", shown))
    return found


def test_every_documented_error_example_is_a_real_answer():
    examples = documented_errors()
    assert len(examples) >= 5
    for slug, shown in examples:
        code = ErrorCode(shown["error"])  # a registry code, else ValueError
        assert shown["message"] == code.message, (slug, code)
        extra = set(shown) - {"ok", "error", "message"}
        assert extra == EXTRA_KEYS.get(code, set()), (slug, code, extra)


def test_the_documented_extras_are_what_the_api_sends(client_for, partner):
    """The extra keys above, read from real answers."""
    reader = client_for(partner, scopes=["fx:read"])
    scope = reader.post("/api/v1/requests/create", {}, format="json").json()
    assert set(scope) - {"ok", "error", "message"} == EXTRA_KEYS["insufficient_scope"]
