"""Writes to the chain registry (D19, D31, D34): ``chain_configure``."""

from __future__ import annotations

import math
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.db import transaction
from django.utils import timezone
from eth_utils import is_checksum_address, is_hex_address, to_checksum_address

from payments.models import Chain
from payments.models.chains import public_rpc_url_problem

from .defaults import DEFAULTS_BY_ID, default_confirmations, reorg_margin
from .matching import first_block_at_or_after
from .rpc import ChainClient, RpcError, RpcUnavailable
from .watcher import MAX_BLOCKS_PER_RUN

_CHAIN_ID_MAX = 2**63 - 1  # Chain.chain_id is a PostgreSQL bigint
_NAME_MAX = Chain._meta.get_field("name").max_length
# D36: the watcher re-reads this many blocks behind its cursor every run (the
# reorg margin) and reads at most MAX_BLOCKS_PER_RUN. The column's 2**31 - 1
# was taken: from MAX_BLOCKS_PER_RUN on, each run re-read the same blocks and
# the cursor never moved again (no payment found by the watcher, silently);
# near it, a run moved on by fewer blocks than a fast chain makes. At half a
# run every run reads at least as many new blocks as old ones (25 000 blocks:
# ~3.5 days of Ethereum, ~14 h of Polygon).
CONFIRMATIONS_MAX = MAX_BLOCKS_PER_RUN // 2
_PUBLIC_RPC_URL_MAX = Chain._meta.get_field("public_rpc_url").max_length


class ChainConfigError(ValueError):
    """The operator's input cannot describe a chain."""


@dataclass(frozen=True)
class ConfigureResult:
    chain: Chain
    created: bool
    cursor_set: bool
    rpc_problem: str | None  # why the head could not be read, when it could not
    # This call set ``watch_from`` (a chain with no cursor yet): the probe that
    # follows starts at the head, nothing can have been paid since (D34).
    watch_from_set: bool = False


def validate_usdc_address(address: str) -> None:
    """``0x`` + 40 hex, a valid EIP-55 checksum when in mixed case, not zero.

    D19: the watcher matches transfers by this contract, so a one-character
    typo in a checksummed address must not be re-checksummed and stored, and
    the zero address is no token. The same rules as the merchant wallets'
    ``merchants.validation.validate_evm_address``.
    """
    if not is_hex_address(address):
        raise ChainConfigError("--usdc must be a 0x + 40 hex address")
    digits = address[-40:]  # is_hex_address takes the prefix as optional
    if digits not in (digits.lower(), digits.upper()) and not is_checksum_address(
        "0x" + digits
    ):
        raise ChainConfigError(
            "--usdc is in mixed case but not a valid EIP-55 checksum (a typo?)"
        )
    if int(digits, 16) == 0:
        raise ChainConfigError("--usdc must not be the zero address")


def validate_public_rpc_url(url: str) -> None:
    """https, a host, no credentials, at most the column's length.

    The pay page hands it to customers' wallets (EIP-3085); the private
    ``--rpc-url`` endpoints never leave the server.
    """
    problem = public_rpc_url_problem(url)
    if problem is None and len(url) > _PUBLIC_RPC_URL_MAX:
        problem = f"must be at most {_PUBLIC_RPC_URL_MAX} characters"
    if problem:
        raise ChainConfigError(
            f"--public-rpc-url {problem} (customers' wallets are given it): {url!r}"
        )


def validate_rpc_url(url: str) -> str:
    """``url`` if it can be an http(s) RPC endpoint, else ``ChainConfigError``.

    ``urlsplit`` raises ``ValueError`` for an unclosed IPv6 bracket and a
    port out of range: a traceback from ``configure_chain`` and a 500 from
    the admin form, both before this check existed.
    """
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError past 65535)
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ChainConfigError(f"not an http(s) RPC URL: {url!r}")
    return url


def chain_config_check(
    *,
    chain_id: int,
    name: str,
    rpc_urls: list[str],
    usdc_address: str,
    decimals: int | None = None,
    confirmations: int | None = None,
    is_testnet: bool | None = None,
    is_local: bool | None = None,
    public_rpc_url: str | None = None,
) -> list[str]:
    """Every check ``chain_configure`` makes, writing nothing; the RPC URLs to store.

    Raises ``ChainConfigError``. The admin form runs it in ``clean``, so a
    refusal shows on the form instead of after a "saved" message.
    """
    # D31: out-of-range input is the command's one-line error, not a
    # traceback from the database (OverflowError past bigint, DataError past
    # the name column).
    if not 0 < chain_id <= _CHAIN_ID_MAX:
        raise ChainConfigError(f"--chain-id must be within 1 … {_CHAIN_ID_MAX}")
    if not name.strip():
        raise ChainConfigError("--name must not be empty")
    if len(name.strip()) > _NAME_MAX:
        raise ChainConfigError(f"--name must be at most {_NAME_MAX} characters")
    urls = [validate_rpc_url(u.strip()) for u in rpc_urls if u.strip()]
    if not urls:
        raise ChainConfigError("give at least one --rpc-url")
    validate_usdc_address(usdc_address)
    if decimals is not None and not 6 <= decimals <= 36:
        # D15: the last three digits of micro-USDC tag each payment; a token
        # coarser than micro-USDC cannot carry them, so the watcher's exact
        # match would never find a payment in it.
        raise ChainConfigError(
            "--decimals must be within 6 … 36 (a coarser token cannot carry "
            "the unique amount tag)"
        )
    if confirmations is not None and not 1 <= confirmations <= CONFIRMATIONS_MAX:
        raise ChainConfigError(
            f"--confirmations must be within 1 … {CONFIRMATIONS_MAX} (the watcher "
            "re-reads that many blocks on every run)"
        )
    if is_testnet and is_local:
        raise ChainConfigError("a chain is --testnet or --local, not both")
    if public_rpc_url:
        validate_public_rpc_url(public_rpc_url)

    return urls


def chain_configure(
    *,
    chain_id: int,
    name: str,
    rpc_urls: list[str],
    usdc_address: str,
    decimals: int | None = None,
    confirmations: int | None = None,
    is_testnet: bool | None = None,
    is_local: bool | None = None,
    public_rpc_url: str | None = None,
    probe: bool = True,
    enable: bool = True,
) -> ConfigureResult:
    """Add or update a chain and enable it (``enable=False``: a chain that
    exists keeps its switch; the admin's edit form, whose switch is the
    audited enable/disable actions).

    Guarantees: addresses are stored EIP-55; flags, decimals, confirmations
    and the public RPC URL not given (None) keep the row's values (or, for a
    new row, the shipped default / D36; an empty public RPC URL clears it);
    when the chain is configured for the first time (no cursor yet) and an
    RPC answers, the watcher cursor is set to head minus the reorg margin,
    so the first scan never starts at genesis (D34). An unreachable RPC is not
    an error: the chain is saved and ``rpc_problem`` says why.
    Raises ``ChainConfigError`` for input that cannot be a chain.
    """
    urls = chain_config_check(
        chain_id=chain_id,
        name=name,
        rpc_urls=rpc_urls,
        usdc_address=usdc_address,
        decimals=decimals,
        confirmations=confirmations,
        is_testnet=is_testnet,
        is_local=is_local,
        public_rpc_url=public_rpc_url,
    )
    with transaction.atomic():
        chain = Chain.objects.select_for_update().filter(pk=chain_id).first()
        created = chain is None
        if created:
            known = DEFAULTS_BY_ID.get(chain_id)
            chain = Chain(
                chain_id=chain_id,
                is_testnet=known.is_testnet if known else False,
                explorer_tx_url=known.explorer_tx_url if known else "",
            )
        if is_testnet is not None or is_local is not None:
            chain.is_testnet = bool(is_testnet)
            chain.is_local = bool(is_local)
        chain.name = name.strip()
        chain.rpc_urls = urls
        chain.usdc_address = to_checksum_address(usdc_address)
        if decimals is not None:
            chain.decimals = decimals
        if confirmations is not None:
            chain.confirmations = confirmations
        elif created:
            chain.confirmations = default_confirmations(
                chain_id=chain_id, is_testnet=chain.is_testnet, is_local=chain.is_local
            )
        if public_rpc_url is not None:
            chain.public_rpc_url = public_rpc_url
        if enable or created:
            chain.enabled = True
        watch_from_set = chain.last_scanned_block is None and chain.watch_from is None
        if watch_from_set:
            chain.watch_from = timezone.now()  # D34, if the probe finds no head
        chain.save()

    cursor_set, problem = (
        chain_cursor_probe(chain, watch_from_set=watch_from_set)
        if probe
        else (False, None)
    )
    return ConfigureResult(
        chain=chain,
        created=created,
        cursor_set=cursor_set,
        rpc_problem=problem,
        watch_from_set=watch_from_set,
    )


def chain_enabled_set(*, chain_id: int, enabled: bool) -> bool:
    """Switch a chain on or off; ``True`` if it changed (a repeat is a no-op).

    A disabled chain takes no new proofs and is not watched (D19); its rows
    and cursor stay, so enabling it again resumes where the watcher was.
    """
    return bool(
        Chain.objects.filter(pk=chain_id)
        .exclude(enabled=enabled)
        .update(enabled=enabled)
    )


def chain_cursor_probe(
    chain: Chain, *, watch_from_set: bool = False
) -> tuple[bool, str | None]:
    """A first-time chain's watcher cursor from its RPC head; ``(set, problem)``.

    The cursor only while the chain has none (D34: the first scan never starts
    at genesis), and only if no watcher set one meanwhile. ``problem`` says
    why no RPC answered, for a chain with a cursor too: an operator replacing
    its URLs by a dead one (or another network's) is told, not left with a
    watcher and proof checks that stall in silence. Network I/O: call it
    outside any transaction, so no row lock waits on an operator's RPC URLs.

    ``watch_from_set``: the caller's configuration set ``watch_from`` just
    now, so the cursor is the head less the margin. Read from the block of
    that time, it went back to genesis on a node whose clock runs ahead of
    this host's (anvil stamps a block up to a second ahead), for nothing.
    """
    client = ChainClient(chain)
    try:
        head = client.head()
        if chain.last_scanned_block is not None:
            return False, None
        margin = reorg_margin(
            confirmations=chain.confirmations, is_local=chain.is_local
        )
        cursor = head.number - margin
        configured = (
            None
            if chain.watch_from is None or watch_from_set
            else math.floor(chain.watch_from.timestamp())
        )
        if configured is not None and head.timestamp >= configured:
            # D34: first configured earlier, while no RPC answered: the watcher
            # reads from the block of that time (as it does without a cursor),
            # not from this head; payments made in between are found.
            since = first_block_at_or_after(client, configured, head=head.number)
            cursor = min(cursor, since - 1)
    except (RpcUnavailable, RpcError) as exc:
        return False, exc.detail or str(exc.code)
    cursor_set = bool(
        Chain.objects.filter(pk=chain.chain_id, last_scanned_block__isnull=True).update(
            last_scanned_block=max(cursor, 0)
        )
    )
    chain.refresh_from_db()
    return cursor_set, None


def chain_rpc_url_problems(chain: Chain) -> list[str]:
    """Why each unusable RPC URL of the chain is (D19: tried in turn), or [].

    Network I/O, outside any transaction. A dead fallback is otherwise
    noticed only when the URL before it fails, and then nothing answers.
    """
    return ChainClient(chain).endpoint_problems()
