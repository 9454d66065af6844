"""One bot per database: an OS lock on a file beside it, held for the bot's life.

Two bots on one database would each take the other's rows in flight for rows a
dead process left behind, and send them again; both would run every digest
job. The lock is the operating system's (`flock`), so it goes away with the
process however it ends (kill -9 included) and a stale lock file never blocks
a restart. The operator's commands (ingest, search, backup) take no lock: they
work beside a running bot, as SQLite's own locking lets them.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path
from typing import IO

from bot.store.db import StoreError


def lock_path(database: Path) -> Path:
    """`data/bot.sqlite3` → `data/bot.sqlite3.lock`."""
    return database.with_name(database.name + ".lock")


class InstanceLock:
    """Held from `acquire` until `release` (or the process ends)."""

    def __init__(self, database: Path, path: Path, file: IO[str]) -> None:
        self.database = database
        self.path = path
        self._file: IO[str] | None = file

    @classmethod
    def acquire(cls, database: Path | str) -> InstanceLock:
        """Take the lock for `database`, or raise StoreError in one line naming it."""
        database = Path(database)
        path = lock_path(database)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            file = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held for the bot's life
        except OSError as exc:
            raise StoreError(f"cannot create the lock file {path}: {exc.strerror}") from exc
        try:
            _lock(file)
        except OSError:
            holder = _holder(file)
            file.close()
            by = f" (process {holder})" if holder else ""
            raise StoreError(
                f"another bot is already running on {database}{by}; stop it first"
                f" (lock file {path})"
            ) from None
        file.seek(0)
        file.truncate()
        file.write(f"{os.getpid()}\n")
        file.flush()
        return cls(database, path, file)

    @property
    def held(self) -> bool:
        return self._file is not None

    def release(self) -> None:
        """Let go (idempotent). The file stays: removing it could let two processes
        lock two different files of the same name."""
        file, self._file = self._file, None
        if file is None:
            return
        with contextlib.suppress(OSError):
            file.seek(0)
            file.truncate()
            _unlock(file)
        file.close()


def _holder(file: IO[str]) -> str:
    with contextlib.suppress(OSError, ValueError):
        file.seek(0)
        text = file.read(32).strip()
        if text.isdigit():
            return text
    return ""


if sys.platform == "win32":  # pragma: no cover - the bot is deployed on POSIX systems
    import msvcrt

    def _lock(file: IO[str]) -> None:
        file.seek(0)
        msvcrt.locking(file.fileno(), msvcrt.LK_NBLCK, 1)

    def _unlock(file: IO[str]) -> None:
        file.seek(0)
        msvcrt.locking(file.fileno(), msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _lock(file: IO[str]) -> None:
        fcntl.flock(file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)

    def _unlock(file: IO[str]) -> None:
        fcntl.flock(file.fileno(), fcntl.LOCK_UN)
