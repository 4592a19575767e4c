"""No float near money (STYLE.md "Money", D14): the modules that compute,
check or show an amount use integers only.

Read from the source: a ``float`` (literal, call or annotation), a true
division ``/`` (a float on ints), ``round`` or ``math`` in one of them fails
here, before it can round a payment. Rates are Decimals, divided only in the
FX code under an explicit precision, which this list leaves out.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MONEY_MODULES = [
    "payments/money.py",
    "payments/services/amounts.py",
    "payments/services/tags.py",
    "payments/services/requests.py",
    "payments/serializers.py",
    "payments/pay/presenters.py",
    "payments/proofs/services/awaiting.py",
    "merchants/portal/present.py",
    "merchants/partner_rules.py",
    "recurring/services/plan_checks.py",
    "recurring/services/charge_request.py",
]
# Functions elsewhere that scale amounts (D19: token units ↔ micro-USDC).
MONEY_FUNCTIONS = {"payments/chain/verify.py": {"to_micro", "from_micro"}}


def offences(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        what = None
        if isinstance(node, ast.Constant) and isinstance(node.value, float):
            what = f"float literal {node.value}"
        elif isinstance(node, ast.Name) and node.id in ("float", "round"):
            what = node.id
        elif isinstance(node, ast.BinOp | ast.AugAssign) and isinstance(
            node.op, ast.Div
        ):
            what = f"true division {ast.unparse(node)}"
        elif isinstance(node, ast.Import | ast.ImportFrom) and (
            "math" in [a.name for a in node.names]
            or getattr(node, "module", None) == "math"
        ):
            what = "import math"
        if what:
            found.append(f"line {node.lineno}: {what}")
    return found


@pytest.mark.parametrize("path", MONEY_MODULES)
def test_a_money_module_has_no_float(path):
    assert offences(ast.parse((ROOT / path).read_text())) == []


@pytest.mark.parametrize(("path", "names"), MONEY_FUNCTIONS.items())
def test_amount_scaling_has_no_float(path, names):
    tree = ast.parse((ROOT / path).read_text())
    functions = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef) and node.name in names
    ]
    assert {f.name for f in functions} == names
    for function in functions:
        assert offences(function) == [], function.name


def test_the_guard_sees_a_float():
    assert offences(ast.parse("x = a / b")) != []
    assert offences(ast.parse("x = float(a)")) != []
    assert offences(ast.parse("x = a * 1.5")) != []
    assert offences(ast.parse("x = a // b")) == []
