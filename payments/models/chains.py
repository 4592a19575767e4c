"""The chain registry (D19, D36): where USDC lives and which RPCs to ask."""

from __future__ import annotations

from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import models


def public_rpc_url_problem(value: str) -> str | None:
    """Why ``value`` cannot be published as a chain's RPC URL, or None.

    It goes to every customer's wallet (EIP-3085): https, so no one on the way
    can change the node a wallet trusts (wallets refuse plain http as well),
    and no user name or password, which would be given away with it.
    """
    try:
        parts = urlsplit(value)
        host = parts.hostname
    except ValueError:
        return "is not a URL"
    if parts.scheme != "https" or not host:
        return "must be an https URL"
    if "@" in parts.netloc:
        return "must not carry a user name or password"
    if any(c.isspace() for c in value):
        return "must not contain spaces"
    return None


def validate_public_rpc_url(value: str) -> None:
    problem = public_rpc_url_problem(value)
    if problem:
        raise ValidationError(f"The public RPC URL {problem}.", code="invalid")


class Chain(models.Model):
    chain_id = models.BigIntegerField(primary_key=True)
    name = models.CharField(max_length=60)
    is_testnet = models.BooleanField(default=False)
    # A development node (anvil): accepted for test mode, exempt from staleness.
    is_local = models.BooleanField(default=False)
    usdc_address = models.CharField(max_length=42)
    decimals = models.PositiveSmallIntegerField(default=6)
    confirmations = models.PositiveIntegerField(default=12)
    # The operator's RPC endpoints: they may embed a provider's API key, so
    # they never reach a browser (the pay page, its script data, the API).
    rpc_urls = models.JSONField(default=list, blank=True)
    # One https RPC endpoint that is safe to publish: the pay page hands it to
    # a wallet that lacks the chain (wallet_addEthereumChain, EIP-3085). Blank:
    # the page only asks the customer to add the network themselves.
    public_rpc_url = models.URLField(
        max_length=200,
        blank=True,
        default="",
        db_default="",
        validators=[validate_public_rpc_url],
        help_text=(
            "https only. Shown to customers' wallets that lack this chain, so it"
            " must be safe to publish (never an RPC URL with a private key)."
        ),
    )
    explorer_tx_url = models.CharField(
        max_length=200, blank=True, help_text="e.g. https://polygonscan.com/tx/{tx}"
    )
    enabled = models.BooleanField(default=True)
    # Chain watcher cursor (D21, D34): last block fully scanned; survives restarts.
    last_scanned_block = models.BigIntegerField(null=True, blank=True)
    # When the watcher last moved that cursor: a chain read after a proof was
    # attached passed its request over, so a mismatch owes a rescan there
    # even if the chain was off at the attach and is off again (D20, D21).
    last_scanned_at = models.DateTimeField(null=True, blank=True)
    # When the chain was configured while no RPC answered, so no cursor was
    # set then: the first scan starts at the block of that time, not at the
    # head it finds later (D34: "the head at configuration time").
    watch_from = models.DateTimeField(null=True, blank=True)
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
