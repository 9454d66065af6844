"""A backup of the database that touches nothing: read-only, checked, then in place.

The source is opened read-only, never through `Database.open`, which would
migrate it: a backup taken before an upgrade must be the database as it was,
and the operator's copy must not change the live file under a running bot.
SQLite's backup API copies it as of one moment (a read transaction; in WAL
mode the bot keeps writing meanwhile) into a temporary file beside the
destination; only a copy that passes `PRAGMA integrity_check` is renamed into
place, so the destination is either a whole, sound copy or absent.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from pathlib import Path

from bot.store.db import StoreError


def backup(source: Path, destination: Path) -> None:
    """Copy the database at `source` to the new file `destination` (blocking: run it
    in a thread). Raises StoreError in one line, naming the destination when the
    destination is the problem."""
    if not source.is_file():
        raise StoreError(f"there is no database at {source}")
    if destination.exists():
        raise StoreError(f"{destination} exists; choose a new file name")
    folder = destination.parent
    if not folder.is_dir():
        raise StoreError(f"cannot write the backup {destination}: {folder} is not a folder")
    try:
        handle, name = tempfile.mkstemp(dir=folder, prefix=f".{destination.name}.", suffix=".tmp")
    except OSError as exc:
        raise StoreError(f"cannot write the backup {destination}: {exc.strerror}") from exc
    os.close(handle)
    temporary = Path(name)
    try:
        _copy(source, temporary, destination)
        try:
            os.replace(temporary, destination)
        except OSError as exc:
            raise StoreError(f"cannot write the backup {destination}: {exc.strerror}") from exc
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()


def _copy(source: Path, temporary: Path, destination: Path) -> None:
    try:
        reader = sqlite3.connect(f"{source.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot read the database {source}: {exc}") from exc
    try:
        copy = sqlite3.connect(temporary)
        try:
            try:
                reader.backup(copy)
            except sqlite3.DatabaseError as exc:
                if _about_destination(exc):
                    raise StoreError(f"cannot write the backup {destination}: {exc}") from exc
                raise StoreError(f"cannot read the database {source}: {exc}") from exc
            # One self-contained file, not a WAL database that needs its -wal beside it.
            copy.execute("PRAGMA journal_mode = DELETE")
            verdict = copy.execute("PRAGMA integrity_check").fetchone()
            if verdict is None or verdict[0] != "ok":
                raise StoreError(
                    f"the copy of {source} failed its integrity check"
                    f" ({verdict[0] if verdict else 'no answer'}); {destination} not written"
                )
        finally:
            copy.close()
    finally:
        reader.close()


def _about_destination(exc: sqlite3.DatabaseError) -> bool:
    """A full disk or an unwritable file while writing the copy."""
    text = str(exc).lower()
    return any(marker in text for marker in ("full", "readonly", "read-only", "disk i/o"))
