"""For tests that send many calls at (nearly) the same instant: D17 idempotent
creates and single-use forms under concurrent retries, over real HTTP."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import requests

THREADS = 10


def at_once(calls: list[Callable[[], object]]) -> list[object]:
    """Run the callables together behind a barrier; their results in order."""
    barrier = threading.Barrier(len(calls))

    def run(fn):
        barrier.wait(timeout=10)
        return fn()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def api_poster(url: str, key: str, body: dict) -> Callable[[], tuple]:
    """A call POSTing ``body`` to ``url`` with ``key``: (status, the
    ``Idempotent-Replayed`` header, the JSON answer)."""

    def post():
        r = requests.post(
            url, json=body, timeout=30, headers={"Authorization": f"Bearer {key}"}
        )
        return r.status_code, r.headers.get("Idempotent-Replayed"), r.json()

    return post


def assert_one_created(results: list[tuple], id_field: str) -> None:
    """D17: of ``api_poster`` answers to one key and body, one 201 and every
    other the 200 replay (``Idempotent-Replayed: true``), all of one object."""
    statuses = sorted(status for status, _, _ in results)
    assert statuses == [200] * (len(results) - 1) + [201], results
    assert all(replayed == "true" for status, replayed, _ in results if status == 200)
    assert len({payload[id_field] for _, _, payload in results}) == 1
