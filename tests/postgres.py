"""A throwaway PostgreSQL server for the tests, started on a fresh machine with no
manual step: Debian's PostgreSQL binaries (package `postgresql-15`), a fresh data
directory, a free loopback port, trust authentication for one user.

PostgreSQL refuses to run as root, and CI runs as root: the server then runs as
the `postgres` user the package creates, in a directory made for it (a temporary
directory root makes is closed to other users). Anything missing is an error that
says what to install; the tests that need the server never skip quietly.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

USER = "bot"
PACKAGE = "postgresql-15"
START_SECONDS = 30


class Unavailable(Exception):
    """The server cannot be started here; the message says why and what to do."""


@dataclass(frozen=True)
class Server:
    root: Path
    bindir: Path
    port: int
    runner: tuple[str, ...]  # prefix that runs a command as the server's user

    @property
    def socket_dir(self) -> Path:
        return self.root

    @property
    def data(self) -> Path:
        return self.root / "data"

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def psql(self, sql: str, database: str = "postgres") -> str:
        """One statement through `psql` over TCP, its rows as `a|b` lines."""
        done = subprocess.run(
            ["psql", "-X", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-c", sql, self.url(database)],
            capture_output=True,
            text=True,
            timeout=START_SECONDS,
        )
        if done.returncode != 0:
            raise RuntimeError(f"psql failed: {done.stderr.strip()}")
        return done.stdout.strip()

    def stop(self) -> None:
        subprocess.run(
            [*self.runner, str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate",
             "-w", "stop"],
            capture_output=True,
            timeout=START_SECONDS,
        )  # fmt: skip
        shutil.rmtree(self.root, ignore_errors=True)


def bindir() -> Path:
    """The newest installed server's binaries (Debian keeps each major version apart)."""
    found = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/initdb"),
        key=lambda path: int(path.parent.parent.name) if path.parent.parent.name.isdigit() else 0,
    )
    if found:
        return found[-1].parent
    on_path = shutil.which("initdb")
    if on_path is not None:
        return Path(on_path).parent
    raise Unavailable(
        f"no PostgreSQL server is installed: install it with `apt-get install {PACKAGE}`"
        " (it brings initdb and pg_ctl), then run the tests again"
    )


def free_port() -> int:
    """A free loopback port, for this server and the benchmark's (bench/scaling.py)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def runner_and_owner() -> tuple[tuple[str, ...], int | None]:
    """How to run the server's commands, and whom its directory must belong to."""
    if os.geteuid() != 0:
        return (), None
    try:
        owner = pwd.getpwnam("postgres")
    except KeyError:
        raise Unavailable(
            "running as root, and PostgreSQL refuses to run as root: no `postgres` user"
            f" to run it as (the {PACKAGE} package creates it)"
        ) from None
    runuser = shutil.which("runuser")
    if runuser is None:
        raise Unavailable("running as root without `runuser` to start PostgreSQL as `postgres`")
    return (runuser, "-u", "postgres", "--"), owner.pw_uid


def run_tool(command: Sequence[str], what: str, log: Path | None = None) -> None:
    """One of PostgreSQL's programs (initdb, pg_ctl); Unavailable, with what it said
    and the end of the server's `log`, when it fails."""
    done = subprocess.run(command, capture_output=True, text=True, timeout=START_SECONDS)
    if done.returncode != 0:
        detail = done.stderr.strip() or done.stdout.strip()
        if log is not None and log.exists():
            detail += "\n" + log.read_text(errors="replace")[-2_000:]
        raise Unavailable(f"{what} failed: {detail}")


def start() -> Server:
    """A new server, ready for connections (Unavailable if it cannot be)."""
    binaries = bindir()
    runner, owner = runner_and_owner()
    root = Path(tempfile.mkdtemp(prefix="bot-postgres-"))
    try:
        if owner is not None:
            os.chown(root, owner, -1)
        server = Server(root, binaries, free_port(), runner)
        run_tool(
            [*runner, str(binaries / "initdb"), "-D", str(server.data), "-A", "trust", "-U", USER,
             "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"],
            "initdb",
        )  # fmt: skip
        log = root / "server.log"
        options = (
            f"-p {server.port} -k {root} -c listen_addresses=127.0.0.1"
            " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        )
        run_tool(
            [*runner, str(binaries / "pg_ctl"), "-D", str(server.data), "-o", options,
             "-l", str(log), "-w", "-t", str(START_SECONDS), "start"],
            "starting the server",
            log,
        )  # fmt: skip
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    return server
