"""The chain registry (D19, D36): where USDC lives and which RPCs to ask."""

from __future__ import annotations

from django.db import models


class Chain(models.Model):
    chain_id = models.BigIntegerField(primary_key=True)
    name = models.CharField(max_length=60)
    is_testnet = models.BooleanField(default=False)
    # A development node (anvil): accepted for test mode, exempt from staleness.
    is_local = models.BooleanField(default=False)
    usdc_address = models.CharField(max_length=42)
    decimals = models.PositiveSmallIntegerField(default=6)
    confirmations = models.PositiveIntegerField(default=12)
    rpc_urls = models.JSONField(default=list, blank=True)
    explorer_tx_url = models.CharField(
        max_length=200, blank=True, help_text="e.g. https://polygonscan.com/tx/{tx}"
    )
    enabled = models.BooleanField(default=True)
    # Chain watcher cursor (D21, D34): last block fully scanned; survives restarts.
    last_scanned_block = models.BigIntegerField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["chain_id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.chain_id})"

    @property
    def is_usable(self) -> bool:
        return self.enabled and bool(self.rpc_urls)

    def accepts(self, *, test_mode: bool) -> bool:
        """D19: live requests take mainnets; test requests take testnets and local."""
        if test_mode:
            return self.is_testnet or self.is_local
        return not self.is_testnet and not self.is_local
