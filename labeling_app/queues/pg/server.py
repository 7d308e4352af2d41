"""A throwaway PostgreSQL server for tests and benchmarks, started from nothing.

The recipe of ../shared/SCALEOUT.md: Debian's server binaries
(``/usr/lib/postgresql/<version>/bin``), ``initdb`` and ``pg_ctl`` run as the ``postgres``
user through ``runuser`` when we are root (``initdb`` refuses root), a free port, TCP on
127.0.0.1 only, the Unix socket inside the server's own folder, ``fsync`` off (the data
is thrown away). About a second to a ready server; `stop` removes everything.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from glob import glob
from pathlib import Path

from evals.errors import RunError


class ServerUnavailable(RunError, RuntimeError):
    """No PostgreSQL server binaries on this machine (``apt-get install postgresql``)."""


def server_bin() -> Path:
    """The newest installed PostgreSQL's bin folder."""
    found = sorted(glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2]))
    if not found or not (Path(found[-1]) / "initdb").exists():
        raise ServerUnavailable("PostgreSQL is not installed: apt-get install -y postgresql")
    return Path(found[-1])


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(args: list[str]) -> list[str]:
    # initdb refuses to run as root; as another user it runs as that user.
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@dataclass
class LocalPostgres:
    """A running throwaway server (`start` it, `stop` it)."""

    folder: Path
    port: int
    bin: Path

    @property
    def url(self) -> str:
        """Connection URL of the ``postgres`` database."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def database_url(self, name: str) -> str:
        """Connection URL of another database on this server."""
        return f"postgresql://postgres@127.0.0.1:{self.port}/{name}"

    @classmethod
    def start(cls) -> LocalPostgres:
        """initdb a fresh cluster in a temporary folder and start it (raises on failure)."""
        pgbin = server_bin()
        folder = Path(tempfile.mkdtemp(prefix="evals-pg-"))
        if os.geteuid() == 0:
            shutil.chown(folder, "postgres", "postgres")
        server = cls(folder, free_port(), pgbin)
        data, log = folder / "data", folder / "server.log"
        options = (
            f"-c listen_addresses=127.0.0.1 -p {server.port} -c unix_socket_directories={folder}"
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            " -c max_connections=200"
        )
        try:
            subprocess.run(
                _as_postgres([str(pgbin / "initdb"), "-D", str(data), "-U", "postgres",
                              "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"]),
                check=True, capture_output=True, timeout=120,
            )  # fmt: skip
            subprocess.run(
                _as_postgres([str(pgbin / "pg_ctl"), "-D", str(data), "-l", str(log),
                              "-w", "-t", "60", "-o", options, "start"]),
                check=True, capture_output=True, timeout=90,
            )  # fmt: skip
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired) as exc:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            shutil.rmtree(folder, ignore_errors=True)
            raise RuntimeError(f"PostgreSQL did not start: {exc}\n{tail}") from exc
        return server

    def stop(self) -> None:
        """Stop the server and remove its folder."""
        subprocess.run(
            _as_postgres([str(self.bin / "pg_ctl"), "-D", str(self.folder / "data"),
                          "-m", "fast", "-w", "stop"]),
            capture_output=True, timeout=60, check=False,
        )  # fmt: skip
        shutil.rmtree(self.folder, ignore_errors=True)

    def create_database(self, name: str) -> str:
        """Create an empty database; returns its URL."""
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')  # name: ours, never user input
        return self.database_url(name)
