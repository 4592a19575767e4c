"""D0/D3: the registry and spec/errors.md hold exactly the same codes and statuses."""

import re
from pathlib import Path

import pytest

from jopay_project.errors import REGISTRY, ErrorCode

ROOT = Path(__file__).resolve().parents[2]
# The shared contract beside the repo when present (CI, developers), else the
# committed copy of it.
CANDIDATES = [
    ROOT.parent / "shared" / "spec" / "errors.md",
    ROOT / "docs/contract/errors.md",
]


def _table() -> dict[str, int]:
    path = next(p for p in CANDIDATES if p.exists())
    codes: dict[str, int] = {}
    for line in path.read_text().splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 2 or not cells[0].startswith("`"):
            continue
        status = int(cells[1].split()[0]) if cells[1].split()[0].isdigit() else None
        for code in re.findall(r"`([a-z_]+)`", cells[0]):
            codes[code] = status
    return codes


def test_every_documented_code_is_in_the_registry_with_its_status():
    table = _table()
    assert len(table) >= 50
    missing = sorted(set(table) - {c.value for c in ErrorCode})
    assert missing == []
    wrong = {
        c: (s, ErrorCode(c).status)
        for c, s in table.items()
        if s is not None and ErrorCode(c).status != s
    }
    assert wrong == {}


def test_every_registry_code_is_documented():
    assert sorted({c.value for c in ErrorCode} - set(_table())) == []


@pytest.mark.parametrize("code", list(ErrorCode))
def test_every_code_has_a_message_and_a_remedy(code):
    spec = REGISTRY[code]
    assert spec.message.endswith(".")
    assert len(spec.message) > 5
    assert spec.remedy
