"""``configure_chain`` (D31): add or update a chain of the registry."""

from dataclasses import replace

from django.core.management.base import CommandError
from django.db import transaction

from jopay_project.commands import OperatorCommand
from merchants.audit import audit_record
from payments.chain.registry import (
    ChainConfigError,
    chain_configure,
    chain_cursor_probe,
    chain_rpc_url_problems,
)
from payments.models import Chain

# What the audit entry names when it changed; the token and the depth decide
# which transfers verify as payments, so their values are kept too. RPC URLs
# may carry a provider's key: named, never recorded.
_AUDITED = (
    "name",
    "rpc_urls",
    "usdc_address",
    "decimals",
    "confirmations",
    "is_testnet",
    "is_local",
    "public_rpc_url",
    "enabled",
)
_VALUES_KEPT = ("usdc_address", "confirmations")


class Command(OperatorCommand):
    help = (
        "Add or update a chain: RPC URLs (tried in order), USDC contract, decimals, "
        "confirmations and its kind (--mainnet, --testnet or --local). D19, D31."
    )

    def add_arguments(self, parser):
        parser.add_argument("--chain-id", type=int, required=True)
        parser.add_argument("--name", required=True)
        parser.add_argument(
            "--rpc-url",
            action="append",
            dest="rpc_urls",
            required=True,
            help="repeat for fallbacks; tried in the order given",
        )
        parser.add_argument("--usdc", required=True, help="USDC contract address")
        parser.add_argument(
            "--decimals",
            type=int,
            default=None,
            help="token decimals (default 6 for a new chain)",
        )
        parser.add_argument(
            "--confirmations",
            type=int,
            default=None,
            help="required confirmations (default per D36)",
        )
        parser.add_argument(
            "--public-rpc-url",
            default=None,
            metavar="URL",
            help=(
                "an https RPC URL safe to publish: the pay page offers it to a "
                "customer's wallet that lacks the chain (never one with a private "
                "key); an empty value clears it"
            ),
        )
        # Leaving all three out keeps a chain's stored kind (a new chain: the
        # shipped default's, else mainnet); --mainnet sets one back.
        kind = parser.add_mutually_exclusive_group()
        kind.add_argument(
            "--mainnet",
            action="store_true",
            default=None,
            help="a production chain: live mode only",
        )
        kind.add_argument("--testnet", action="store_true", default=None)
        kind.add_argument(
            "--local",
            action="store_true",
            default=None,
            help="a development node (anvil): test mode, never stale",
        )

    def handle(self, *args, **opts):
        # One transaction: the change and its ``chain.configured`` entry (as
        # the admin's edit writes it) commit together; the RPC probe after it.
        with transaction.atomic():
            before = Chain.objects.filter(pk=opts["chain_id"]).first()
            result = self._configure(opts)
            _audit(before, result.chain)
        cursor_set, problem = chain_cursor_probe(
            result.chain, watch_from_set=result.watch_from_set
        )
        self._report(replace(result, cursor_set=cursor_set, rpc_problem=problem))
        if problem is None:
            # D19: one answered; the URLs tried in turn must answer too, or a
            # typo'd fallback is found out only when the one before it fails.
            for unusable in chain_rpc_url_problems(result.chain):
                self.stderr.write(
                    f"warning: {unusable}; the chain is read through the others"
                )

    def _configure(self, opts):
        try:
            return chain_configure(
                chain_id=opts["chain_id"],
                name=opts["name"],
                rpc_urls=opts["rpc_urls"],
                usdc_address=opts["usdc"],
                decimals=opts["decimals"],
                confirmations=opts["confirmations"],
                # --mainnet: both flags off (None would keep the stored ones).
                is_testnet=False if opts["mainnet"] else opts["testnet"],
                is_local=False if opts["mainnet"] else opts["local"],
                public_rpc_url=opts["public_rpc_url"],
                probe=False,
            )
        except ChainConfigError as exc:
            raise CommandError(str(exc)) from None

    def _report(self, result) -> None:
        chain = result.chain
        kind = (
            "local" if chain.is_local else "testnet" if chain.is_testnet else "mainnet"
        )
        self.stdout.write(
            f"{'added' if result.created else 'updated'} chain {chain.chain_id} "
            f"({chain.name}, {kind}): USDC {chain.usdc_address}, "
            f"{chain.decimals} decimals, "
            f"{chain.confirmations} confirmations, {len(chain.rpc_urls)} RPC URL(s)"
            + (f", public RPC {chain.public_rpc_url}" if chain.public_rpc_url else "")
        )
        if result.cursor_set:
            self.stdout.write(f"watcher starts after block {chain.last_scanned_block}")
        elif result.rpc_problem:
            then = (
                # D34: from the block of this moment, read once one answers.
                "the watcher will read from now on once one does"
                if chain.last_scanned_block is None
                # D20: proofs stay attached and are retried meanwhile.
                else "the watcher and proof checks wait until one does"
            )
            self.stderr.write(
                f"warning: no RPC answered ({result.rpc_problem}); {then}"
            )


def _audit(before: Chain | None, chain: Chain) -> None:
    changed = [
        name
        for name in _AUDITED
        if before is None or getattr(before, name) != getattr(chain, name)
    ]
    if not changed:
        return
    details: dict = {"changed": changed}
    for name in _VALUES_KEPT:
        if name in changed:
            was = None if before is None else getattr(before, name)
            details[name] = {"from": was, "into": getattr(chain, name)}
    audit_record(
        partner=None, action="chain.configured", target=chain.chain_id, details=details
    )
