"""Seed the default chains (D19, D36) without RPC URLs: unusable until configured.

A frozen copy of ``payments.chain.defaults`` (migrations must not move when code
does); ``tests/chain/test_registry.py`` checks the two agree. Existing rows
(an operator configured the chain first) are left alone.
"""

from django.db import migrations

# chain_id, name, is_testnet, usdc_address, confirmations, explorer_tx_url
DEFAULT_CHAINS = [
    (1, "Ethereum", False, "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48", 12,
     "https://etherscan.io/tx/{tx}"),
    (137, "Polygon", False, "0x3c499c542cEF5E3811e1192ce70d8cC03d5c3359", 32,
     "https://polygonscan.com/tx/{tx}"),
    (8453, "Base", False, "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913", 12,
     "https://basescan.org/tx/{tx}"),
    (10, "Optimism", False, "0x0b2C639c533813f4Aa9D7837CAf62653d097Ff85", 12,
     "https://optimistic.etherscan.io/tx/{tx}"),
    (42161, "Arbitrum One", False, "0xaf88d065e77c8cC2239327C5EDb3A432268e5831", 20,
     "https://arbiscan.io/tx/{tx}"),
    (11155111, "Sepolia", True, "0x1c7D4B196Cb0C7B01d743Fbc6116a902379C7238", 2,
     "https://sepolia.etherscan.io/tx/{tx}"),
    (80002, "Polygon Amoy", True, "0x41E94Eb019C0762f9Bfcf9Fb1E58725BfB0e7582", 2,
     "https://amoy.polygonscan.com/tx/{tx}"),
    (84532, "Base Sepolia", True, "0x036CbD53842c5426634e7929541eC2318f3dCF7e", 2,
     "https://sepolia.basescan.org/tx/{tx}"),
    (11155420, "OP Sepolia", True, "0x5fd84259d66Cd46123540766Be93DFE6D43130D7", 2,
     "https://sepolia-optimism.etherscan.io/tx/{tx}"),
    (421614, "Arbitrum Sepolia", True, "0x75faf114eafb1BDbe2F0316DF893fd58CE46AA4d", 2,
     "https://sepolia.arbiscan.io/tx/{tx}"),
]


def seed(apps, schema_editor):
    Chain = apps.get_model("payments", "Chain")
    for chain_id, name, is_testnet, usdc, confirmations, explorer in DEFAULT_CHAINS:
        Chain.objects.get_or_create(
            chain_id=chain_id,
            defaults={
                "name": name,
                "is_testnet": is_testnet,
                "is_local": False,
                "usdc_address": usdc,
                "decimals": 6,
                "confirmations": confirmations,
                "rpc_urls": [],
                "explorer_tx_url": explorer,
                "enabled": True,
            },
        )


def unseed(apps, schema_editor):
    # Only rows still exactly as seeded (never configured) are removed.
    Chain = apps.get_model("payments", "Chain")
    Chain.objects.filter(chain_id__in=[c[0] for c in DEFAULT_CHAINS], rpc_urls=[]).delete()


class Migration(migrations.Migration):

    dependencies = [
        ("payments", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(seed, unseed),
    ]
