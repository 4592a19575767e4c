"""The Python on the docs pages imports every standard-library module it uses.

The pages' blocks build on each other (/docs/patterns/ opens with the imports
and the session its later blocks use), so the check is per page: a module
used in any block must be imported in one. Names of the reader's own
application (``Order``, ``HttpResponse``) are placeholders and not checked.
"""

from __future__ import annotations

import ast
import sys

import pytest

from jopay_project.docs.render import PAGES

from .blocks import page_blocks


def _stdlib_used_not_imported(code: str) -> set[str]:
    tree = ast.parse(code)
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {(a.asname or a.name).split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported |= {a.asname or a.name for a in node.names}
    used = {
        node.value.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
    }
    return {n for n in used - imported if n in sys.stdlib_module_names}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.slug or "index")
def test_every_stdlib_module_a_page_uses_is_imported(page):
    """/docs/patterns/' webhook view called json.loads with no import json on
    the page: pasted with the page's imports it raised NameError at the first
    delivery."""
    code = "\n".join(b.code for b in page_blocks(page.slug) if b.lang == "python")
    if not code:
        pytest.skip("no Python on this page")

    assert _stdlib_used_not_imported(code) == set()
