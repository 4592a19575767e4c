"""scripts/dev_chain.py (D30): deploy, mint, register the local chain; safe to rerun."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from web3 import Web3

from payments.chain.devnode import DEV_ACCOUNTS, DEV_KEYS, AnvilNode
from payments.contracts import token_at

pytestmark = pytest.mark.chain

ROOT = Path(__file__).resolve().parents[2]


def run(args, env):
    return subprocess.run(
        args,
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_dev_chain_sets_up_a_payable_local_chain_and_is_idempotent(tmp_path):
    node = AnvilNode(chain_id=31337).start()
    try:
        # The embedded first-run mode of D30 (SQLite), as `make run` uses it.
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")
        }
        env.update(DEBUG="1", JOPAY_DATA_DIR=str(tmp_path), JOPAY_DEV_RPC_URL=node.url)
        migrate = run([sys.executable, "manage.py", "migrate", "--noinput"], env)
        assert migrate.returncode == 0, migrate.stderr

        first = run([sys.executable, "scripts/dev_chain.py"], env)
        second = run([sys.executable, "scripts/dev_chain.py"], env)

        assert first.returncode == 0, first.stderr
        assert second.returncode == 0, second.stderr
        w3 = Web3(Web3.HTTPProvider(node.url))
        address = next(
            line.split(":", 1)[1].strip()
            for line in first.stdout.splitlines()
            if "test USDC" in line
        )
        token = token_at(w3, address)
        assert token.functions.decimals().call() == 6
        for payer in DEV_ACCOUNTS[1:4]:
            assert token.functions.balanceOf(payer).call() == 1_000_000 * 10**6
        assert DEV_KEYS[1] in first.stdout
        assert "added chain 31337" in first.stdout
        assert f"reusing TestUSDC at {address}" in second.stdout
        assert "updated chain 31337" in second.stdout
    finally:
        node.stop()
