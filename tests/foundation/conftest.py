"""Fixtures shared by the admin tests of this folder."""

from __future__ import annotations

import pytest

from payments.models import Chain


@pytest.fixture
def chain(db) -> Chain:
    """Base Sepolia as an operator configured it: enabled, one RPC URL."""
    chain, _ = Chain.objects.update_or_create(
        chain_id=84532,
        defaults={
            "name": "Base Sepolia",
            "rpc_urls": ["https://sepolia.base.org"],
            "usdc_address": "0x036CbD53842c5426634e7929541eC2318f3dCF7e",
            "is_testnet": True,
            "enabled": True,
        },
    )
    return chain
