"""RPC connections are pooled per process, not left open by every client.

A ``ChainClient`` lives for one task run, and web3 gave each of its providers a
``requests`` session of its own: the kept-alive connections to the node stayed
open until a full garbage collection. On a soak run (watcher every 15 s,
proofs checked) each Celery child held 13 to 16 connections to anvil after
15 minutes, and more every tick; 30 clients here left 30 open.
"""

from __future__ import annotations

import gc
import os
from urllib.parse import urlsplit

import pytest

from payments.chain.rpc import ChainClient

pytestmark = pytest.mark.chain


def _connections_to(port: int) -> int:
    """This process's established TCP connections to 127.0.0.1:``port``."""
    inodes = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue  # closed meanwhile (the listing's own descriptor)
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    count = 0
    with open("/proc/self/net/tcp") as table:
        next(table)
        for line in table:
            fields = line.split()
            remote_port = int(fields[2].split(":")[1], 16)
            if remote_port == port and fields[3] == "01" and fields[9] in inodes:
                count += 1
    return count


def test_many_clients_share_a_few_connections_to_the_node(local_chain, anvil):
    port = urlsplit(anvil.url).port
    before = _connections_to(port)
    # A worker's full collections are rare; what a client leaves open stays
    # open until one, so none may run here either.
    gc.disable()
    try:
        for _ in range(30):  # 30 watcher ticks or proof checks in one worker
            assert ChainClient(local_chain).block_number() >= 0
        assert _connections_to(port) - before <= 1
    finally:
        gc.enable()
