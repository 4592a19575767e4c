"""The per-chain watcher lock: longer than a scan may run, released by its owner.

The lock lived exactly as long as the task's hard limit (300 s) and was
deleted without checking whose it was: a scan that outlived it (a pool that
does not enforce time limits) released the next scan's lock on its way out,
letting a third scan start beside the second.
"""

from __future__ import annotations

import pytest
from django.core.cache import cache

from payments.chain import watcher
from payments.models import Chain
from payments.proofs.tasks import watch_chains_task

pytestmark = pytest.mark.django_db

LOCK = "jopay:watch_chain:777003"


@pytest.fixture
def chain():
    chain = Chain.objects.create(
        chain_id=777_003,
        name="Lock test",
        usdc_address="0x" + "6" * 40,
        rpc_urls=["http://127.0.0.1:1"],
        is_testnet=True,
    )
    yield chain
    cache.delete(LOCK)


def test_the_lock_outlives_the_task_hard_limit():
    assert watch_chains_task.time_limit < watcher.LOCK_SECONDS


def test_a_chain_locked_by_another_scan_is_skipped_and_its_lock_kept(chain):
    cache.add(LOCK, "other scan", timeout=60)
    results = [r for r in watcher.watch_chains() if r.chain_id == chain.chain_id]
    assert [r.skipped for r in results] == ["locked"]
    assert cache.get(LOCK) == "other scan"


def test_a_scan_releases_only_its_own_lock(chain, monkeypatch):
    def scan(chain, now=None, deadline=None):
        # Meanwhile this scan's lock ran out and another scan took the chain.
        cache.set(LOCK, "next scan", timeout=60)
        return watcher.ScanResult(chain_id=chain.chain_id)

    monkeypatch.setattr(watcher, "scan_chain", scan)
    watcher.watch_chains()
    assert cache.get(LOCK) == "next scan"


def test_a_finished_scan_releases_its_lock(chain, monkeypatch):
    monkeypatch.setattr(
        watcher,
        "scan_chain",
        lambda chain, now=None, deadline=None: watcher.ScanResult(chain.chain_id),
    )
    watcher.watch_chains()
    assert cache.get(LOCK) is None
