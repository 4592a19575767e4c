#!/usr/bin/env python
"""Set up the local anvil chain for the quickstart (D30; called by ``make run``).

Expects anvil on ``JOPAY_DEV_RPC_URL`` (default http://127.0.0.1:8545, chain
31337). Deploys TestUSDC from the committed artifact (or reuses the token the
chain row names when it still has code on the node), mints 1,000,000 test USDC
to anvil accounts 1–3, registers the chain with
``configure_chain --local --confirmations 1`` and prints the token address and
a funded payer's well-known development key. Safe to run again.
"""

# ruff: noqa: T201  (a command-line script: it prints)
from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "jopay_project.settings")

CHAIN_ID = 31337
MINT_MICRO = 1_000_000 * 10**6


def main() -> int:
    import django

    django.setup()
    from django.core.management import call_command
    from web3 import Web3

    from payments.chain.devnode import DEV_ACCOUNTS, DEV_KEYS
    from payments.contracts import deploy_test_usdc, token_at
    from payments.models import Chain
    from payments.money import format_usdc

    rpc_url = os.environ.get("JOPAY_DEV_RPC_URL", "http://127.0.0.1:8545")
    w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 10}))
    try:
        chain_id = w3.eth.chain_id
    except Exception as exc:  # any failure means: no usable node there
        print(
            f"dev_chain: ERROR: no EVM node answers on {rpc_url}: {exc}",
            file=sys.stderr,
        )
        return 1
    if chain_id != CHAIN_ID:
        print(
            f"dev_chain: ERROR: {rpc_url} is chain {chain_id}, expected {CHAIN_ID}",
            file=sys.stderr,
        )
        return 1

    existing = Chain.objects.filter(pk=CHAIN_ID).first()
    token = None
    if existing and existing.usdc_address and w3.eth.get_code(existing.usdc_address):
        token = token_at(w3, existing.usdc_address)
        print(f"dev_chain: reusing TestUSDC at {token.address}")
    else:
        token = deploy_test_usdc(w3, deployer=DEV_ACCOUNTS[0])
        # Send the mints together; with interval mining one block takes them all.
        hashes = [
            token.functions.mint(payer, MINT_MICRO).transact({"from": DEV_ACCOUNTS[0]})
            for payer in DEV_ACCOUNTS[1:4]
        ]
        for tx in hashes:
            w3.eth.wait_for_transaction_receipt(tx, timeout=60)
        print(
            f"dev_chain: deployed TestUSDC at {token.address}; minted 1,000,000 to "
            "accounts 1-3"
        )

    call_command(
        "configure_chain",
        "--chain-id",
        str(CHAIN_ID),
        "--name",
        "Local anvil",
        "--rpc-url",
        rpc_url,
        "--usdc",
        token.address,
        "--local",
        "--confirmations",
        "1",
    )
    balance = token.functions.balanceOf(DEV_ACCOUNTS[1]).call()
    print(f"""
  Local chain ready (chain id {CHAIN_ID}, RPC {rpc_url})
    test USDC : {token.address}
    payer     : {DEV_ACCOUNTS[1]} ({format_usdc(balance)} USDC)
    payer key : {DEV_KEYS[1]}   (anvil's public dev key: local use only)
""")
    return 0


if __name__ == "__main__":
    sys.exit(main())
