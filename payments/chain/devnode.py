"""A local anvil node for tests, benchmarks and ``make run`` (development only).

``find_anvil()`` locates the binary (``JOPAY_ANVIL_BIN``, else the npm package
under ``.run/node``, installing it with npm when missing); ``AnvilNode`` starts
one on a free port and stops exactly the process it started.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[2]
ANVIL_PACKAGE = "@foundry-rs/anvil-linux-amd64@1.7.1"
DEFAULT_ANVIL = ROOT / ".run/node/node_modules/@foundry-rs/anvil-linux-amd64/bin/anvil"
# anvil's well-known development accounts (mnemonic "test test … junk").
DEV_ACCOUNTS = [
    "0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266",
    "0x70997970C51812dc3A010C7d01b50e0d17dc79C8",
    "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC",
    "0x90F79bf6EB2c4f870365E785982E1f101E93b906",
]
DEV_KEYS = [
    "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80",
    "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
    "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
    "0x7c852118294e51e653712a81e05800f419141751be58f605c371e15141b007a6",
]


class AnvilMissing(RuntimeError):  # noqa: N818
    pass


def find_anvil(*, install: bool = True) -> str:
    """The anvil binary; installs the npm package into ``.run/node`` if needed."""
    env = os.environ.get("JOPAY_ANVIL_BIN")
    if env:
        if not os.access(env, os.X_OK):
            raise AnvilMissing(f"JOPAY_ANVIL_BIN={env} is not an executable")
        return env
    if DEFAULT_ANVIL.exists():
        return str(DEFAULT_ANVIL)
    if not install:
        raise AnvilMissing(f"anvil not found at {DEFAULT_ANVIL}")
    npm = shutil.which("npm")
    if npm is None:
        raise AnvilMissing(
            "anvil is not installed and npm is missing: install Node.js/npm, or set "
            "JOPAY_ANVIL_BIN to an anvil binary (foundry)"
        )
    subprocess.run(  # noqa: S603 (fixed arguments)
        [
            npm,
            "install",
            "--prefix",
            str(ROOT / ".run/node"),
            "--no-audit",
            "--no-fund",
            ANVIL_PACKAGE,
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    if not DEFAULT_ANVIL.exists():
        raise AnvilMissing(
            f"npm install {ANVIL_PACKAGE} did not produce {DEFAULT_ANVIL}"
        )
    return str(DEFAULT_ANVIL)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class AnvilNode:
    """One anvil process on 127.0.0.1; ``stop()`` ends only that process."""

    chain_id: int = 31337
    block_time: float | None = None
    timestamp: int | None = None
    extra_args: list[str] = field(default_factory=list)
    port: int = 0
    proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, *, timeout: float = 20.0) -> AnvilNode:
        binary = find_anvil()
        self.port = self.port or free_port()
        args = [
            binary,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--chain-id",
            str(self.chain_id),
            "--silent",
        ]
        if self.block_time:
            args += ["--block-time", str(self.block_time)]
        if self.timestamp is not None:
            args += ["--timestamp", str(self.timestamp)]
        self.proc = subprocess.Popen(  # noqa: S603 (our own binary and arguments)
            args + self.extra_args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"anvil exited with status {self.proc.returncode}")
            try:
                if self.rpc("eth_chainId") == hex(self.chain_id):
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"anvil did not answer on {self.url} within {timeout} s")

    def rpc(
        self, method: str, params: list[Any] | None = None, *, timeout: float = 10
    ) -> Any:
        answer = requests.post(
            self.url,
            json={"jsonrpc": "2.0", "id": 1, "method": method, "params": params or []},
            timeout=timeout,
        ).json()
        if "error" in answer:
            raise RuntimeError(f"{method}: {answer['error']}")
        return answer["result"]

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
