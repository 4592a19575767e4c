"""The pay page's scripts stay small enough to read (STYLE: ~300 lines a module)."""

from __future__ import annotations

from pathlib import Path

import pytest

PAY_STATIC = Path(__file__).resolve().parents[2] / "static" / "pay"
TEMPLATE = Path(__file__).resolve().parents[2] / "templates" / "pay" / "page.html"


@pytest.mark.parametrize("script", sorted(p.name for p in PAY_STATIC.glob("*.js")))
def test_each_pay_page_script_stays_under_300_lines(script):
    lines = (PAY_STATIC / script).read_text().count("\n")
    assert lines <= 300, f"static/pay/{script} has {lines} lines: split it"


def test_the_pay_page_loads_every_script_it_is_split_into():
    # A script left out of the template would leave its half of the page dead.
    html = TEMPLATE.read_text()
    loaded = [
        name
        for name in ("format", "words", "fields", "pay", "status", "wallet")
        if f"'pay/{name}.js'" in html
    ]
    assert loaded == ["format", "words", "fields", "pay", "status", "wallet"]
    positions = [html.index(f"'pay/{name}.js'") for name in loaded]
    assert positions == sorted(positions), "each script loads after what it uses"
