"""A throwaway PostgreSQL cluster for the database drills: never the machine's
server on 5432 (CI and other checkouts use it). initdb into a temporary folder
as the ``postgres`` OS user when we are root (the server refuses root;
scripts/services.sh does the same), on a free port, with fsync off.

``stop()`` is a fast shutdown (every backend is terminated, open client
connections break), ``start()`` brings the same data back on the same port.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

from tests.live import free_port


def _pg_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if found:
        return found[-1].parent
    initdb = shutil.which("initdb")
    if initdb is None:
        raise RuntimeError("PostgreSQL server binaries (initdb) are not installed")
    return Path(initdb).parent


def _as_pg(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.getuid() == 0 else args


class ThrowawayPostgres:
    def __init__(self) -> None:
        self.bin = _pg_bin()
        self.port = free_port()
        self.data = Path(tempfile.mkdtemp(prefix="jopay-drill-pg-"))
        if os.getuid() == 0:
            shutil.chown(self.data, "postgres", "postgres")
        self.data.chmod(0o700)
        subprocess.run(
            _as_pg(
                [
                    str(self.bin / "initdb"),
                    "-D",
                    str(self.data),
                    "-U",
                    "postgres",
                    "-A",
                    "trust",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                ]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def url(self, dbname: str) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{dbname}"

    def _ctl(self, *args: str) -> None:
        subprocess.run(
            _as_pg([str(self.bin / "pg_ctl"), "-D", str(self.data), *args]),
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def start(self) -> None:
        options = f"-c listen_addresses=127.0.0.1 -p {self.port} -k {self.data}"
        options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        self._ctl(
            "-l",
            str(self.data / "server.log"),
            "-w",
            "-t",
            "30",
            "-o",
            options,
            "start",
        )

    def stop(self) -> None:
        self._ctl("-m", "fast", "-w", "stop")

    def _postmaster(self) -> int:
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def freeze(self) -> None:
        """SIGSTOP the postmaster: the kernel still completes TCP handshakes
        into its listen queue, but no new session ever gets an answer (a
        server that hangs, or a host behind a network that drops packets)."""
        os.kill(self._postmaster(), signal.SIGSTOP)

    def thaw(self) -> None:
        os.kill(self._postmaster(), signal.SIGCONT)

    def createdb(self, name: str) -> None:
        subprocess.run(
            [
                str(self.bin / "createdb"),
                "-h",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-U",
                "postgres",
                name,
            ],
            check=True,
        )

    def destroy(self) -> None:
        if (self.data / "postmaster.pid").exists():
            self.thaw()
            subprocess.run(
                _as_pg(
                    [
                        str(self.bin / "pg_ctl"),
                        "-D",
                        str(self.data),
                        "-m",
                        "immediate",
                        "stop",
                    ]
                ),
                stdout=subprocess.DEVNULL,
            )
        shutil.rmtree(self.data, ignore_errors=True)
