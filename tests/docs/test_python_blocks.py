"""The Python on the docs pages imports every standard-library module it uses.

The pages' blocks build on each other (/docs/patterns/ opens with the imports
and the session its later blocks use), so the check is per page: a module
used in any block must be imported in one. Names of the reader's own
application (``Order``, ``HttpResponse``) are placeholders and not checked.
"""

from __future__ import annotations

import ast
import sys

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


def test_every_stdlib_module_a_page_uses_is_imported():
    """/docs/patterns/' webhook view called json.loads with no import json on
    the page: pasted with the page's imports it raised NameError at the first
    delivery."""
    missing: dict[str, set[str]] = {}
    pages_with_python = 0
    for page in PAGES:
        blocks = page_blocks(page.slug)
        code = "\n".join(b.code for b in blocks if b.lang == "python")
        if code:  # pages without Python have nothing to import
            pages_with_python += 1
            if unimported := _stdlib_used_not_imported(code):
                missing[page.slug or "index"] = unimported

    assert pages_with_python >= 3  # the check really reads the pages' Python
    assert missing == {}
