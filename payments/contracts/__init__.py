"""The test USDC artifact (``TestUSDC.json``, compiled by ``compile.js``) and helpers.

Development and tests only: a 6-decimals ERC-20 whose owner mints freely.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

ARTIFACT = Path(__file__).with_name("TestUSDC.json")


@cache
def load_artifact() -> dict[str, Any]:
    """``{"abi": [...], "bytecode": "0x..."}`` of TestUSDC."""
    return json.loads(ARTIFACT.read_text())


def deploy_test_usdc(w3: Any, *, deployer: str) -> Any:
    """Deploy a fresh TestUSDC from ``deployer`` (an unlocked node account)."""
    art = load_artifact()
    factory = w3.eth.contract(abi=art["abi"], bytecode=art["bytecode"])
    tx = factory.constructor().transact({"from": deployer})
    receipt = w3.eth.wait_for_transaction_receipt(tx, timeout=30)
    if receipt["status"] != 1:
        raise RuntimeError("TestUSDC deployment reverted")
    return w3.eth.contract(address=receipt["contractAddress"], abi=art["abi"])


def token_at(w3: Any, address: str) -> Any:
    return w3.eth.contract(address=address, abi=load_artifact()["abi"])
