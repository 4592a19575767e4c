"""Benchmark: proof latency on a real chain; the watcher's cost per 10 000 blocks.

    DATABASE_URL=postgresql://postgres@127.0.0.1:5432/jopay_chain_bench \\
    REDIS_URL=redis://127.0.0.1:6379/3 \\
        .venv/bin/python -m bench.proof_latency [--samples 20] [--blocks 10000]

1. Latency. anvil with ``--block-time 1`` (interval mining, like a real chain),
   TestUSDC deployed, the chain registered as ``local``, and a real Celery
   worker (prefork, as deployed). Per sample: a request (ORM), a transfer
   broadcast to the node, its hash attached at once with ``proof_attach`` (the
   pay page's path: the payer's wallet returns the hash before it is mined), so
   ``payments.verify_proof`` runs on the worker and re-checks itself until the
   chain has the required confirmations. A thread polls ``eth_blockNumber``
   every 20 ms and notes the wall time each block appears. Measured from the
   moment the *confirming* block (the one that brings the transfer to the
   chain's confirmations) appeared: to the ``payment.proof_verified`` event
   row (written in the verifying transaction, D24), and to that webhook's
   arrival at a local HTTPS receiver (the partner's endpoint, delivered by
   the same worker, signed, over TLS). Run with 1 and with 3 confirmations.
2. Watcher cost. A second anvil (automine). ``--watched`` open requests on
   distinct wallets; ``--blocks`` blocks mined with ``anvil_mine`` with one
   matching transfer every ``blocks / payments`` blocks in between. One
   ``scan_chain`` over the range (eth_getLogs in 2 000-block chunks, attach +
   verify of every match) is timed, then a rescan of the same range (each
   paid wallet has a second open request, so its logs are read again, and
   nothing new may be attached).

Prints a table and writes ``bench/results/proof_latency.json``. Absolute
figures are informational (D36); they depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from datetime import timedelta
from typing import Any

from bench import common

LATENCY_CHAIN_ID = 31337


class BlockClock:
    """Notes the wall time at which each block number is first seen."""

    def __init__(self, node: Any) -> None:
        self.node = node
        self.seen: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        last = -1
        while not self._stop.is_set():
            try:
                number = int(self.node.rpc("eth_blockNumber"), 16)
            except Exception:  # noqa: S112 (a transient hiccup of the poller)
                continue
            now = time.time()
            for n in range(last + 1, number + 1):
                self.seen.setdefault(n, now)
            last = max(last, number)
            time.sleep(0.02)

    def __enter__(self) -> BlockClock:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=2)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _summary(values: list[float]) -> dict[str, Any]:
    return {
        "median_s": round(statistics.median(values), 3),
        "p95_s": round(_pct(values, 0.95), 3),
        "min_s": round(min(values), 3),
        "max_s": round(max(values), 3),
        "samples": len(values),
    }


def _request(partner, merchant, wallet: str, usdc_micro: int):
    import secrets
    from decimal import Decimal

    from django.utils import timezone

    from payments.models import PaymentRequest

    return PaymentRequest.objects.create(
        partner=partner,
        test_mode=True,
        merchant=merchant,
        reference=secrets.token_hex(5).upper(),
        fiat_int=1000,
        fiat_code="EUR",
        usdc_micro=usdc_micro,
        fx_rate=Decimal("0.92"),
        fx_source="manual",
        receiving_address=wallet,
        expires_at=timezone.now() + timedelta(hours=1),
    )


def _tenant(slug: str, wallets: list[str]):
    from merchants.models import Merchant, Partner
    from payments.models import PaymentRequest
    from webhooks.models import WebhookEvent

    partner, _ = Partner.objects.update_or_create(
        slug=slug, defaults={"name": slug, "enabled_currencies": ["EUR"]}
    )
    common.delete_in_batches(PaymentRequest.objects.filter(partner=partner))
    common.delete_in_batches(WebhookEvent.objects.filter(partner=partner))
    merchants = []
    for i, wallet in enumerate(wallets):
        merchant, _ = Merchant.objects.update_or_create(
            partner=partner,
            test_mode=True,
            display_name=f"{slug}-{i}",
            defaults={
                "wallet_address": wallet,
                "business_name": f"{slug} shop {i}",
                "onboarding_status": Merchant.OnboardingStatus.COMPLETE,
            },
        )
        merchants.append(merchant)
    return partner, merchants


def _register_chain(node, token_address: str, confirmations: int, *, chain_id: int):
    from payments.models import Chain

    Chain.objects.filter(pk=chain_id).delete()
    return Chain.objects.create(
        chain_id=chain_id,
        name="Bench anvil",
        is_local=True,
        usdc_address=token_address,
        confirmations=confirmations,
        rpc_urls=[node.url],
    )


def measure_latency(
    samples: int, confirmations_list: list[int], receiver: common.WebhookReceiver
) -> dict[str, Any]:
    from web3 import Web3

    from payments.chain.devnode import DEV_ACCOUNTS, AnvilNode
    from payments.contracts import deploy_test_usdc
    from payments.models import PaymentRequest
    from payments.proofs.services import proof_attach
    from webhooks.models import WebhookEvent
    from webhooks.services import webhook_endpoint_set

    node = AnvilNode(chain_id=LATENCY_CHAIN_ID, block_time=1).start()
    results: dict[str, Any] = {}
    try:
        w3 = Web3(Web3.HTTPProvider(node.url, request_kwargs={"timeout": 10}))
        token = deploy_test_usdc(w3, deployer=DEV_ACCOUNTS[0])
        payer = DEV_ACCOUNTS[1]
        w3.eth.wait_for_transaction_receipt(
            token.functions.mint(payer, 10**15).transact({"from": DEV_ACCOUNTS[0]})
        )
        wallets = [common.bench_wallet(100 + i) for i in range(samples)]
        partner, merchants = _tenant("bench-proof-latency", wallets)
        webhook_endpoint_set(partner=partner, url=receiver.url, enabled=True)
        worker_env = common.bench_env(**receiver.env())
        with (
            common.celery_worker(concurrency=2, env=worker_env) as worker,
            BlockClock(node) as clock,
        ):
            for confirmations in confirmations_list:
                _register_chain(
                    node, token.address, confirmations, chain_id=LATENCY_CHAIN_ID
                )
                legs: dict[str, list[float]] = {
                    "block_to_verified": [],
                    "verified_to_webhook": [],
                    "block_to_webhook": [],
                }
                for i in range(samples):
                    usdc_micro = 1_000_000 + confirmations * 1000 + i
                    pr = _request(partner, merchants[i], wallets[i], usdc_micro)
                    tx = token.functions.transfer(wallets[i], usdc_micro).transact(
                        {"from": payer}
                    )
                    proof_attach(
                        request=pr,
                        chain_id=LATENCY_CHAIN_ID,
                        tx_hash="0x" + bytes(tx).hex(),
                        source="customer",
                    )
                    deadline = time.monotonic() + 90
                    while True:
                        pr.refresh_from_db()
                        if pr.proof_status != PaymentRequest.ProofStatus.ATTACHED:
                            break
                        if time.monotonic() > deadline:
                            raise RuntimeError(
                                "proof not verified within 90 s:\n" + worker.log_tail()
                            )
                        time.sleep(0.05)
                    if pr.proof_status != "verified":
                        raise RuntimeError(f"unexpected verdict {pr.mismatch_reason}")
                    confirming = pr.evidence["block_number"] + confirmations - 1
                    # The event row is written in the verifying transaction (D24).
                    written = WebhookEvent.objects.get(
                        request_id=pr.pk, type="payment.proof_verified"
                    ).created_at.timestamp()
                    received = _wait_webhook(receiver, str(pr.pk), worker)
                    block = clock.seen[confirming]
                    legs["block_to_verified"].append(written - block)
                    legs["verified_to_webhook"].append(received - written)
                    legs["block_to_webhook"].append(received - block)
                    print(
                        f"  confirmations={confirmations} sample {i + 1}/{samples}: "
                        f"verified {written - block:.3f} s, "
                        f"webhook received {received - block:.3f} s after the block",
                        flush=True,
                    )
                results[f"confirmations_{confirmations}"] = {
                    leg: _summary(values) for leg, values in legs.items()
                }
    finally:
        node.stop()
    return results


def _wait_webhook(receiver: common.WebhookReceiver, request_id: str, worker) -> float:
    """When ``payment.proof_verified`` for the request reached the receiver."""
    deadline = time.monotonic() + 60
    while (arrived := receiver.first("payment.proof_verified", request_id)) is None:
        if time.monotonic() > deadline:
            raise RuntimeError(
                "no proof_verified webhook in 60 s:\n" + worker.log_tail()
            )
        time.sleep(0.01)
    return arrived


def measure_watcher(blocks: int, payments: int, watched: int) -> dict[str, Any]:
    from web3 import Web3

    from payments.chain.devnode import DEV_ACCOUNTS, AnvilNode
    from payments.chain.watcher import scan_chain
    from payments.contracts import deploy_test_usdc
    from payments.models import Chain, PaymentRequest

    chain_id = 31339
    node = AnvilNode(chain_id=chain_id).start()
    try:
        w3 = Web3(Web3.HTTPProvider(node.url, request_kwargs={"timeout": 600}))
        token = deploy_test_usdc(w3, deployer=DEV_ACCOUNTS[0])
        payer = DEV_ACCOUNTS[1]
        w3.eth.wait_for_transaction_receipt(
            token.functions.mint(payer, 10**15).transact({"from": DEV_ACCOUNTS[0]})
        )
        wallets = [common.bench_wallet(1000 + i) for i in range(watched)]
        partner, merchants = _tenant("bench-watcher", wallets)
        requests = [
            _request(partner, merchants[i], wallets[i], 2_000_000 + i)
            for i in range(watched)
        ]
        # A second, unpaid request on each paid wallet keeps it watched, so the
        # rescan reads every log again (and must attach none of them).
        for i in range(payments):
            _request(partner, merchants[i], wallets[i], 3_000_000 + i)
        chain = _register_chain(node, token.address, 1, chain_id=chain_id)
        start = w3.eth.block_number
        chain.last_scanned_block = start
        chain.save()

        t0 = time.monotonic()
        step = max(blocks // payments, 1)
        for i in range(payments):
            # anvil_mine slows down as the chain grows; batches keep each
            # call well inside the HTTP timeout.
            remaining = step - 1
            while remaining > 0:
                n = min(1000, remaining)
                node.rpc("anvil_mine", [hex(n)], timeout=900)
                remaining -= n
            tx = token.functions.transfer(wallets[i], 2_000_000 + i).transact(
                {"from": payer}
            )
            w3.eth.wait_for_transaction_receipt(tx)
            print(
                f"  mined {w3.eth.block_number - start}/{blocks} blocks "
                f"({time.monotonic() - t0:.0f} s)",
                flush=True,
            )
        if w3.eth.block_number - start < blocks:
            node.rpc(
                "anvil_mine",
                [hex(blocks - (w3.eth.block_number - start))],
                timeout=900,
            )
        mined = w3.eth.block_number - start
        mining_s = time.monotonic() - t0

        t1 = time.perf_counter()
        first = scan_chain(Chain.objects.get(pk=chain_id))
        first_s = time.perf_counter() - t1
        # A rescan of the same range: logs read again, nothing new to attach.
        Chain.objects.filter(pk=chain_id).update(last_scanned_block=start)
        t2 = time.perf_counter()
        second = scan_chain(Chain.objects.get(pk=chain_id))
        second_s = time.perf_counter() - t2
        verified = PaymentRequest.objects.filter(
            pk__in=[r.pk for r in requests], proof_status="verified"
        ).count()
    finally:
        node.stop()
    per10k = 10_000 / max(first.blocks, 1)
    return {
        "blocks_mined": mined,
        "mining_seconds": round(mining_s, 1),
        "watched_wallets": watched,
        "payments": payments,
        "scan": {
            "blocks": first.blocks,
            "chunks": first.chunks,
            "logs": first.logs,
            "attached": len(first.attached),
            "verified": len(first.verified),
            "seconds": round(first_s, 3),
            "seconds_per_10000_blocks": round(first_s * per10k, 3),
        },
        "rescan": {
            "blocks": second.blocks,
            "chunks": second.chunks,
            "logs": second.logs,
            "attached": len(second.attached),
            "seconds": round(second_s, 3),
            "seconds_per_10000_blocks": round(second_s * per10k, 3),
        },
        "requests_verified": verified,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--samples", type=int, default=20)
    parser.add_argument("--confirmations", type=int, nargs="+", default=[1, 3])
    parser.add_argument("--blocks", type=int, default=10_000)
    parser.add_argument("--payments", type=int, default=50)
    parser.add_argument("--watched", type=int, default=200)
    args = parser.parse_args()
    if args.payments > args.watched:
        parser.error("--payments must not exceed --watched")

    receiver = common.WebhookReceiver()
    os.environ.update(receiver.env())  # before Django reads its settings
    common.setup_django()
    print("1/2 proof latency (anvil --block-time 1, Celery worker, HTTPS receiver)")
    try:
        latency = measure_latency(args.samples, args.confirmations, receiver)
    finally:
        receiver.stop()
    print(f"2/2 watcher: mining {args.blocks} blocks with anvil_mine")
    watcher = measure_watcher(args.blocks, args.payments, args.watched)

    leg_names = {
        "block_to_verified": "block → proof_verified written",
        "verified_to_webhook": "proof_verified → webhook received",
        "block_to_webhook": "block → webhook received",
    }
    rows = [
        [
            f"{k.replace('_', ' ')}: {leg_names[leg]}",
            v["median_s"],
            v["p95_s"],
            v["min_s"],
            v["max_s"],
            v["samples"],
        ]
        for k, legs in latency.items()
        for leg, v in legs.items()
    ]
    print()
    common.print_table(
        ["latency after the confirming block (s)", "median", "p95", "min", "max", "n"],
        rows,
    )
    print()
    common.print_table(
        [
            "watcher",
            "blocks",
            "chunks",
            "logs",
            "attached",
            "seconds",
            "s / 10k blocks",
        ],
        [
            [
                "first scan",
                watcher["scan"]["blocks"],
                watcher["scan"]["chunks"],
                watcher["scan"]["logs"],
                watcher["scan"]["attached"],
                watcher["scan"]["seconds"],
                watcher["scan"]["seconds_per_10000_blocks"],
            ],
            [
                "rescan (nothing new)",
                watcher["rescan"]["blocks"],
                watcher["rescan"]["chunks"],
                watcher["rescan"]["logs"],
                watcher["rescan"]["attached"],
                watcher["rescan"]["seconds"],
                watcher["rescan"]["seconds_per_10000_blocks"],
            ],
        ],
    )
    path = common.write_results(
        "proof_latency",
        {
            "goal": "informational (D36): verified, and the partner's webhook "
            "received, within seconds of the confirming block; watcher scan "
            "cost per 10 000 blocks",
            "latency": latency,
            "watcher": watcher,
            "machine": common.machine_info(),
        },
    )
    print(f"\nwrote {path}")
    if watcher["requests_verified"] != args.payments:
        print(
            f"bench: only {watcher['requests_verified']} of {args.payments} payments "
            "were verified by the watcher",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
