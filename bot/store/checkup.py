"""A look at the database file that changes nothing: what `python -m bot doctor` reads.

Opened read-only, never through `Database.open`, which would create a missing
file and migrate an older one: the doctor reports the schema version the file
has, and must leave it so for the operator to back it up before an upgrade.
In WAL mode a read-only reader runs beside the bot's writer, so the bot may be
running meanwhile. `PRAGMA quick_check` reads the whole file; on a large
database it is stopped once its time is spent, so the doctor stays bounded.
"""

from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Final

from bot.store.db import StoreError

QUICK_CHECK_ROWS: Final = 10
"""Complaints `quick_check` lists at most: a few name the trouble, a thousand fill a screen."""
PROGRESS_STEPS: Final = 10_000


@dataclass(frozen=True)
class Checkup:
    schema_version: int
    tables: int
    problems: tuple[str, ...] | None
    """What `quick_check` found wrong (empty: nothing); None when it ran out of time."""
    feed_urls: tuple[str, ...]
    """The feeds the bot polls (not those an admin removed)."""


def checkup(path: Path, *, seconds: float) -> Checkup:
    """Read the database at `path` (blocking: run it in a thread), giving
    `quick_check` at most `seconds`. Raises StoreError when it cannot be read."""
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, timeout=2.0)
    except sqlite3.Error as exc:
        raise StoreError(f"cannot read the database {path}: {exc}") from exc
    try:
        try:
            names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
            version = 0
            if "schema_migrations" in names:
                row = conn.execute("SELECT max(version) FROM schema_migrations").fetchone()
                version = int(row[0]) if row is not None and row[0] is not None else 0
            urls: tuple[str, ...] = ()
            if "feeds" in names:
                urls = _feed_urls(conn)
        except sqlite3.OperationalError as exc:  # opened lazily: unreadable, or locked
            raise StoreError(f"cannot read the database {path}: {exc}") from exc
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{path} is not a usable SQLite database: {exc}") from exc
        return Checkup(version, len(names), _quick_check(conn, seconds), urls)
    finally:
        conn.close()


def _feed_urls(conn: sqlite3.Connection) -> tuple[str, ...]:
    try:
        rows = conn.execute("SELECT url FROM feeds WHERE removed_at IS NULL ORDER BY id")
    except sqlite3.OperationalError:  # a schema from before feeds could be removed
        rows = conn.execute("SELECT url FROM feeds ORDER BY id")
    return tuple(str(row[0]) for row in rows)


def _quick_check(conn: sqlite3.Connection, seconds: float) -> tuple[str, ...] | None:
    deadline = time.monotonic() + seconds
    conn.set_progress_handler(lambda: int(time.monotonic() > deadline), PROGRESS_STEPS)
    try:
        rows = conn.execute(f"PRAGMA quick_check({QUICK_CHECK_ROWS})").fetchall()
    except sqlite3.OperationalError as exc:
        if "interrupted" in str(exc):
            return None
        return (str(exc),)
    except sqlite3.DatabaseError as exc:
        return (str(exc),)
    finally:
        conn.set_progress_handler(None, 0)
    found = tuple(str(row[0]) for row in rows)
    return () if found == ("ok",) else found
