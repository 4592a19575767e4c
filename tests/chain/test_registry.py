"""The chain registry: seeded defaults (D19, D36) and ``configure_chain`` (D31, D34)."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from payments.chain.defaults import DEFAULT_CHAINS, reorg_margin
from payments.chain.devnode import free_port
from payments.models import Chain

from .conftest import CHAIN_ID

pytestmark = pytest.mark.chain

CIRCLE_USDC = {
    1: "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48",
    137: "0x3c499c542cEF5E3811e1192ce70d8cC03d5c3359",
    8453: "0x833589fCD6eDb6E08f4c7C32D4f71b54bdA02913",
    10: "0x0b2C639c533813f4Aa9D7837CAf62653d097Ff85",
    42161: "0xaf88d065e77c8cC2239327C5EDb3A432268e5831",
    11155111: "0x1c7D4B196Cb0C7B01d743Fbc6116a902379C7238",
    80002: "0x41E94Eb019C0762f9Bfcf9Fb1E58725BfB0e7582",
    84532: "0x036CbD53842c5426634e7929541eC2318f3dCF7e",
    11155420: "0x5fd84259d66Cd46123540766Be93DFE6D43130D7",
    421614: "0x75faf114eafb1BDbe2F0316DF893fd58CE46AA4d",
}
D36_CONFIRMATIONS = {1: 12, 137: 32, 8453: 12, 10: 12, 42161: 20}


def test_defaults_are_seeded_without_rpc_urls_and_unusable(seeded_chains):
    seeded = {c.chain_id: c for c in Chain.objects.filter(chain_id__in=CIRCLE_USDC)}
    assert set(seeded) == set(CIRCLE_USDC)
    for chain_id, chain in seeded.items():
        assert chain.usdc_address == CIRCLE_USDC[chain_id]
        assert chain.decimals == 6
        assert chain.rpc_urls == []
        assert not chain.is_usable  # D19: unusable until an operator adds RPCs
        assert not chain.is_local
        assert chain.is_testnet == (chain_id not in D36_CONFIRMATIONS)
        assert chain.confirmations == D36_CONFIRMATIONS.get(chain_id, 2)
        assert chain.explorer_tx_url.startswith("https://")
        assert "{tx}" in chain.explorer_tx_url


def test_migration_copy_matches_the_code_defaults(seeded_chains):
    # The seed migration carries a frozen copy of payments.chain.defaults.
    for default in DEFAULT_CHAINS:
        row = Chain.objects.get(pk=default.chain_id)
        assert (
            row.name,
            row.is_testnet,
            row.usdc_address,
            row.confirmations,
            row.explorer_tx_url,
        ) == (
            default.name,
            default.is_testnet,
            default.usdc_address,
            default.confirmations,
            default.explorer_tx_url,
        )


def test_reorg_margin_is_at_least_12_off_local():
    assert reorg_margin(confirmations=2, is_local=False) == 12
    assert reorg_margin(confirmations=32, is_local=False) == 32
    assert reorg_margin(confirmations=1, is_local=True) == 1


def _configure_local(url: str, usdc_address: str) -> None:
    call_command(
        "configure_chain",
        "--chain-id",
        str(CHAIN_ID),
        "--name",
        "Local anvil",
        "--rpc-url",
        url,
        "--usdc",
        usdc_address,
        "--local",
        "--confirmations",
        "1",
    )


def test_configure_chain_adds_a_local_chain_with_a_cursor(
    db, anvil, usdc, w3, evm_snapshot, capsys
):
    _configure_local(anvil.url, usdc.address.lower())

    chain = Chain.objects.get(pk=CHAIN_ID)
    assert chain.is_local
    assert not chain.is_testnet
    assert chain.usdc_address == usdc.address  # stored EIP-55
    assert chain.rpc_urls == [anvil.url]
    assert (chain.decimals, chain.confirmations, chain.enabled) == (6, 1, True)
    # D34: the watcher starts at the head at configuration time minus the margin.
    assert chain.last_scanned_block == max(w3.eth.block_number - 1, 0)
    assert "added chain 31337" in capsys.readouterr().out


def test_a_node_whose_clock_runs_ahead_still_starts_at_the_head(
    db, anvil, usdc, w3, evm_snapshot
):
    """D34: a chain configured now is watched from its head less the margin.
    The cursor was taken back to the first block stamped at or after the
    configuration time, which on a node whose clock runs ahead of this host
    (anvil stamps blocks up to a second ahead; here a minute) is genesis."""
    w3.provider.make_request("evm_increaseTime", [60])
    for _ in range(3):
        w3.provider.make_request("evm_mine", [])

    _configure_local(anvil.url, usdc.address.lower())

    chain = Chain.objects.get(pk=CHAIN_ID)
    assert chain.last_scanned_block == w3.eth.block_number - 1


def test_a_chain_first_configured_without_an_rpc_is_read_from_that_time(
    db, anvil, usdc, w3, evm_snapshot
):
    """D34: configured while no RPC answered, then given a working one later:
    the watcher reads from the block of the first configuration, so payments
    made in between are found."""
    from datetime import timedelta

    from django.utils import timezone

    _configure_local(f"http://127.0.0.1:{free_port()}", usdc.address.lower())
    chain = Chain.objects.get(pk=CHAIN_ID)
    assert chain.last_scanned_block is None
    # Configured a while ago, before the blocks below were mined.
    Chain.objects.filter(pk=CHAIN_ID).update(
        watch_from=timezone.now() - timedelta(minutes=1)
    )
    first = w3.eth.block_number
    w3.provider.make_request("evm_increaseTime", [120])
    for _ in range(3):
        w3.provider.make_request("evm_mine", [])

    _configure_local(anvil.url, usdc.address.lower())

    assert Chain.objects.get(pk=CHAIN_ID).last_scanned_block <= first


def test_configure_chain_updates_a_seeded_mainnet_keeping_its_kind(
    seeded_chains, capsys
):
    dead = f"http://127.0.0.1:{free_port()}"
    call_command(
        "configure_chain",
        "--chain-id",
        "137",
        "--name",
        "Polygon PoS",
        "--rpc-url",
        dead,
        "--rpc-url",
        "https://polygon-rpc.example",
        "--usdc",
        CIRCLE_USDC[137],
    )

    chain = Chain.objects.get(pk=137)
    assert chain.name == "Polygon PoS"
    assert chain.rpc_urls == [dead, "https://polygon-rpc.example"]
    assert (chain.is_testnet, chain.is_local, chain.confirmations) == (False, False, 32)
    assert chain.is_usable
    assert chain.accepts(test_mode=False)
    assert chain.last_scanned_block is None  # no RPC answered: set on first scan
    captured = capsys.readouterr()
    assert "updated chain 137" in captured.out
    assert "warning" in captured.err


def test_configure_chain_new_testnet_gets_d36_confirmations(db):
    call_command(
        "configure_chain",
        "--chain-id",
        "99999",
        "--name",
        "Some testnet",
        "--rpc-url",
        f"http://127.0.0.1:{free_port()}",
        "--usdc",
        CIRCLE_USDC[1],
        "--testnet",
    )
    chain = Chain.objects.get(pk=99999)
    assert (chain.is_testnet, chain.confirmations) == (True, 2)


def test_configure_chain_mainnet_sets_a_testnet_or_local_chain_back(db):
    # D19/D31: a chain given --testnet or --local by mistake could not be set
    # back to a mainnet (leaving both flags out keeps the stored kind).
    base = [
        "--chain-id",
        "99998",
        "--name",
        "Some chain",
        "--rpc-url",
        f"http://127.0.0.1:{free_port()}",
        "--usdc",
        CIRCLE_USDC[1],
    ]
    call_command("configure_chain", *base, "--local")
    call_command("configure_chain", *base)
    chain = Chain.objects.get(pk=99998)
    assert (chain.is_testnet, chain.is_local) == (False, True)
    call_command("configure_chain", *base, "--mainnet")
    chain.refresh_from_db()
    assert (chain.is_testnet, chain.is_local) == (False, False)
    call_command("configure_chain", *base, "--testnet")
    call_command("configure_chain", *base, "--mainnet")
    chain.refresh_from_db()
    assert (chain.is_testnet, chain.is_local) == (False, False)
    with pytest.raises(CommandError):
        call_command("configure_chain", *base, "--mainnet", "--local")


@pytest.mark.parametrize(
    "args",
    [
        ["--usdc", "0x1234"],
        ["--usdc", CIRCLE_USDC[1], "--rpc-url", "ftp://x"],
        # urlsplit raised ValueError: a traceback, not the one-line error (D31).
        ["--usdc", CIRCLE_USDC[1], "--rpc-url", "http://[bad"],
        ["--usdc", CIRCLE_USDC[1], "--rpc-url", "http://127.0.0.1:99999"],
        ["--usdc", CIRCLE_USDC[1], "--rpc-url", "http://:80"],  # no host
        ["--usdc", CIRCLE_USDC[1], "--confirmations", "0"],
        ["--usdc", CIRCLE_USDC[1], "--decimals", "99"],
        ["--usdc", CIRCLE_USDC[1], "--decimals", "2"],  # D15: no room for the tag
    ],
)
def test_configure_chain_refuses_bad_input(db, args):
    base = ["--chain-id", "5", "--name", "X"]
    if "--rpc-url" not in args:
        base += ["--rpc-url", "http://127.0.0.1:1"]
    with pytest.raises(CommandError):
        call_command("configure_chain", *base, *args)
    assert not Chain.objects.filter(pk=5).exists()


def test_configure_chain_testnet_and_local_are_exclusive(db):
    with pytest.raises(CommandError):
        call_command(
            "configure_chain",
            "--chain-id",
            "5",
            "--name",
            "X",
            "--rpc-url",
            "http://127.0.0.1:1",
            "--usdc",
            CIRCLE_USDC[1],
            "--testnet",
            "--local",
        )


# D19, D31: a USDC contract with a checksum typo, or the zero address, is refused
# (is_hex_address took any case and the typo was re-checksummed and stored), and
# out-of-range numbers and names are the command's one-line error, not a
# traceback from the database.
CHECKSUM_TYPO = "0x3C499c542cEF5E3811e1192ce70d8cC03d5c3359"  # 'c' → 'C'
ZERO = "0x" + "0" * 40


def configure(*args: str, chain_id: str = "5", name: str = "X") -> None:
    call_command(
        "configure_chain",
        "--chain-id",
        chain_id,
        "--name",
        name,
        "--rpc-url",
        f"http://127.0.0.1:{free_port()}",
        *args,
    )


@pytest.mark.parametrize("usdc", [CHECKSUM_TYPO, ZERO], ids=["checksum-typo", "zero"])
def test_configure_chain_refuses_an_unusable_usdc_address(db, usdc):
    with pytest.raises(CommandError, match="--usdc"):
        configure("--usdc", usdc)
    assert not Chain.objects.filter(pk=5).exists()


@pytest.mark.parametrize(
    "usdc",
    [CIRCLE_USDC[137].lower(), CIRCLE_USDC[137].upper().replace("0X", "0x")],
    ids=["lower", "upper"],
)
def test_configure_chain_takes_a_usdc_address_without_checksum(db, usdc):
    configure("--usdc", usdc)
    assert Chain.objects.get(pk=5).usdc_address == CIRCLE_USDC[137]


@pytest.mark.parametrize(
    ("chain_id", "name", "extra"),
    [
        (str(2**70), "X", []),  # OverflowError
        (str(2**63), "X", []),  # one past bigint
        ("5", "x" * 61, []),  # DataError: varchar(60)
        ("5", "X", ["--confirmations", str(2**31)]),  # past integer
        # The watcher re-reads that many blocks behind its cursor each run and
        # reads at most MAX_BLOCKS_PER_RUN: it never moved on again.
        ("5", "X", ["--confirmations", "50000"]),
        ("5", "X", ["--confirmations", "25001"]),
    ],
    ids=[
        "chain-id-2**70",
        "chain-id-2**63",
        "name-61",
        "confirmations-2**31",
        "confirmations-a-whole-watcher-run",
        "confirmations-past-half-a-run",
    ],
)
def test_configure_chain_out_of_range_is_a_command_error(db, chain_id, name, extra):
    before = Chain.objects.count()
    with pytest.raises(CommandError):
        configure("--usdc", CIRCLE_USDC[1], *extra, chain_id=chain_id, name=name)
    assert Chain.objects.count() == before


def test_configure_chain_takes_the_largest_values_that_fit(db):
    configure(
        "--usdc",
        CIRCLE_USDC[1],
        "--confirmations",
        "25000",
        chain_id=str(2**63 - 1),
        name="x" * 60,
    )
    chain = Chain.objects.get(pk=2**63 - 1)
    assert (chain.name, chain.confirmations) == ("x" * 60, 25000)


def test_the_largest_confirmations_leave_the_watcher_more_new_blocks_than_old():
    """D36: the reorg margin is the confirmations. A run reads at most
    MAX_BLOCKS_PER_RUN blocks from its cursor minus the margin, so at the
    largest value each run still reads at least as many new blocks as it
    re-reads (past a whole run, the cursor never moved again)."""
    from payments.chain.defaults import reorg_margin
    from payments.chain.registry import CONFIRMATIONS_MAX
    from payments.chain.watcher import MAX_BLOCKS_PER_RUN

    for is_local in (True, False):
        margin = reorg_margin(confirmations=CONFIRMATIONS_MAX, is_local=is_local)
        assert MAX_BLOCKS_PER_RUN - margin >= margin


@pytest.mark.parametrize("usdc", [CHECKSUM_TYPO, ZERO], ids=["checksum-typo", "zero"])
def test_admin_chain_form_refuses_an_unusable_usdc_address(db, usdc):
    from payments.admin.chains import ChainForm

    form = ChainForm(
        data={
            "chain_id": "5",
            "name": "X",
            "usdc_address": usdc,
            "decimals": "6",
            "confirmations": "2",
            "kind": "testnet",
            "rpc_urls_text": "http://127.0.0.1:1",
        }
    )
    assert not form.is_valid()
    assert "usdc_address" in form.errors


def test_configure_chain_warns_when_an_existing_chains_new_rpc_is_unusable(
    local_chain, anvil, capsys
):
    # An operator swapping in a dead URL (or another network's) for a chain
    # the watcher already reads was told nothing: its proofs then wait on
    # RPC retries and the watcher stalls, silently. D31: the command says so,
    # as it does for a new chain; the cursor stays where the watcher was.
    local_chain.last_scanned_block = 5
    local_chain.save()
    dead = f"http://127.0.0.1:{free_port()}"
    args = ["--chain-id", str(CHAIN_ID), "--name", "Local anvil"]
    args += ["--usdc", local_chain.usdc_address]

    call_command("configure_chain", *args, "--rpc-url", dead)

    err = capsys.readouterr().err
    assert "warning: no RPC answered" in err
    assert "the watcher and proof checks wait until one does" in err  # a cursor
    assert Chain.objects.get(pk=CHAIN_ID).last_scanned_block == 5

    call_command("configure_chain", *args, "--rpc-url", anvil.url)

    assert "warning" not in capsys.readouterr().err
    assert Chain.objects.get(pk=CHAIN_ID).last_scanned_block == 5


def test_configure_chain_is_on_record_like_an_admin_edit(db, monkeypatch):
    """The USDC contract and the confirmations decide which transfers verify
    as payments: changed in the admin they are ``chain.configured``, changed
    with the command they left no record at all."""
    from merchants.models import AuditEntry

    monkeypatch.setattr("sys.argv", ["manage.py", "configure_chain"])
    configure("--usdc", CIRCLE_USDC[1], "--confirmations", "3")
    configure("--usdc", CIRCLE_USDC[137], "--confirmations", "3")

    first, second = AuditEntry.objects.filter(action="chain.configured").order_by(
        "created_at", "pk"
    )
    assert (second.actor_kind, second.actor) == (
        "operator",
        "manage.py configure_chain",
    )
    assert (second.partner, second.target) == (None, "5")
    assert second.details == {
        "changed": ["rpc_urls", "usdc_address"],
        "usdc_address": {"from": CIRCLE_USDC[1], "into": CIRCLE_USDC[137]},
    }
    assert first.details["confirmations"] == {"from": None, "into": 3}
    # RPC URLs may carry a provider's key: named as changed, never recorded.
    assert "127.0.0.1" not in str(first.details) + str(second.details)


def test_configure_chain_warns_about_a_dead_fallback_rpc(local_chain, anvil, capsys):
    # D19: the URLs are tried in turn. A fallback with a typo (or another
    # network's) was never probed while the first answered, so the operator
    # learnt of it only when the first failed and nothing answered at all.
    dead = f"http://127.0.0.1:{free_port()}"
    args = ["--chain-id", str(CHAIN_ID), "--name", "Local anvil"]
    args += ["--usdc", local_chain.usdc_address]

    call_command("configure_chain", *args, "--rpc-url", anvil.url, "--rpc-url", dead)

    err = capsys.readouterr().err
    assert "warning: RPC URL 2 of 2: probe failed" in err
    assert "no RPC answered" not in err
    assert dead not in err  # positions only: URLs may carry a provider's key

    call_command("configure_chain", *args, "--rpc-url", anvil.url)

    assert "warning" not in capsys.readouterr().err
