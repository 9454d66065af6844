"""The SQLite engine: one writer, one reader, numbered migrations.

SQLite allows one writer at a time. Funnelling every write through a single
connection guarded by an asyncio lock, and opening each write with
`BEGIN IMMEDIATE`, turns "database is locked" surprises into an orderly queue,
while WAL lets the reader connection answer searches during a write.

A commit only appends to the write-ahead log; copying the log back into the
database file (a checkpoint) is done by a third connection, a moment after
writes (`CHECKPOINT_DELAY`), never by the writer: SQLite's automatic
checkpoint runs inside the COMMIT that crosses its threshold, so whichever
write came then (a reader's /subscribe, a page of a digest run) waited for
the whole copy and its sync, up to a second after a large write.

Every search shares the one reader, so a read made for a person can carry a
time budget: SQLite's progress handler stops it once the budget is spent, and
the reader is free for the next one at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

import bot.metrics as metrics
from bot.store.db import (
    Connection,
    Database,
    Location,
    Migration,
    OverBudget,
    Params,
    StoreError,
    bundled_migrations,
)

T = TypeVar("T")

log = logging.getLogger(__name__)

BUSY_TIMEOUT_MS = 5_000
PROGRESS_STEPS = 2_500
"""SQLite virtual-machine steps between two looks at a read's budget. Each look is
a Python call that takes the GIL from the event loop, so they must not be many: at
1,000,000 articles an ordinary search runs 5,000-55,000 steps a millisecond (1,000
steps made it 70 looks). But one step of a costly search can be long (FTS5 merging a
long prefix's doclists runs about 1,000 steps a millisecond, and more in one opcode),
and at 10,000 steps the worst search a user can type overran a 150 ms budget to
206 ms at p99; at 2,500 a look comes every 2.5 ms at the slowest."""
LOG_BACKSTOP_PAGES = 10_000
"""The write-ahead log's bound (pages of 4 KB): about 40 MB, ten times SQLite's own."""
CHECKPOINT_DELAY = 1.0
"""Seconds from a commit to the checkpoint that copies it into the database file:
the commits of that second are copied, and the files synced, in one pass, as
SQLite's own threshold (1,000 pages) batched them."""


async def _configure(conn: aiosqlite.Connection) -> None:
    conn.row_factory = sqlite3.Row
    await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    await conn.execute("PRAGMA foreign_keys = ON")
    await conn.execute("PRAGMA synchronous = NORMAL")


class SQLiteDatabase(Database):
    """An open SQLite file (`Database.open` with a path opens one)."""

    dialect = "sqlite"

    def __init__(self, path: Path, writer: aiosqlite.Connection, reader: aiosqlite.Connection):
        self.path = path
        self.location = Location("sqlite", path=path)
        self._writer = writer
        self._reader = reader
        self._write_lock = asyncio.Lock()
        self.progress_steps = PROGRESS_STEPS  # tests lower it to stop tiny reads
        self._checkpointing: asyncio.Task[None] | None = None
        self._committed_since = False

    @classmethod
    async def connect(
        cls, path: Path | str, migrations: Iterable[Migration] | None = None
    ) -> SQLiteDatabase:
        """Open (creating if needed) and upgrade the database at `path`."""
        path = Path(path)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: we issue BEGIN/COMMIT ourselves.
            writer = await aiosqlite.connect(path, isolation_level=None)
        except (OSError, sqlite3.Error) as exc:
            raise StoreError(f"cannot open database {path}: {exc}") from exc
        try:
            await _configure(writer)
            mode = await (await writer.execute("PRAGMA journal_mode = WAL")).fetchone()
            if mode is None or str(mode[0]).lower() != "wal":
                log.warning("database %s is not in WAL mode (%s)", path, mode)
            # `_checkpoint` does it, but the log only starts over when a write finds
            # every frame of it copied: under writes that never pause, a checkpoint
            # on another connection never gets there, and the log grew to 10 GB in a
            # 1M-article build. Past `LOG_BACKSTOP_PAGES` the writer's commit copies
            # the few frames left (the checkpointer took the rest) and the log restarts.
            await writer.execute(f"PRAGMA wal_autocheckpoint = {LOG_BACKSTOP_PAGES}")
            reader = await aiosqlite.connect(path, isolation_level=None)
            await _configure(reader)
            await reader.execute("PRAGMA query_only = ON")
        except sqlite3.DatabaseError as exc:
            await writer.close()
            raise StoreError(f"{path} is not a usable SQLite database: {exc}") from exc
        db = cls(path, writer, reader)
        try:
            await db.migrate(bundled_migrations() if migrations is None else migrations)
        except BaseException:
            await db.close()
            raise
        return db

    async def close(self) -> None:
        if self._checkpointing is not None:
            self._checkpointing.cancel()
            await asyncio.wait([self._checkpointing])
        async with self._write_lock:
            # The writer last: closing the last connection checkpoints the log.
            for conn in (self._reader, self._writer):
                with contextlib.suppress(sqlite3.Error, ValueError):  # closed twice
                    await conn.close()

    def _committed(self) -> None:
        """After a commit: checkpoint soon, on the checkpointer's thread."""
        self._committed_since = True
        if self._checkpointing is None or self._checkpointing.done():
            self._checkpointing = asyncio.create_task(self._checkpoint())

    async def _checkpoint(self) -> None:
        """Copy the log into the database file, a pass every `CHECKPOINT_DELAY`
        while commits come. PASSIVE: it takes no lock a writer or reader waits
        for, and copies what no reader still needs from the log (the next pass
        copies the rest). The connection lasts as long as the commits: an idle
        bot keeps no third connection, nor its thread."""
        conn: aiosqlite.Connection | None = None
        try:
            while self._committed_since:
                await asyncio.sleep(CHECKPOINT_DELAY)
                self._committed_since = False
                if conn is None:
                    conn = await aiosqlite.connect(self.path, isolation_level=None)
                    await _configure(conn)
                await conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.Error as exc:  # the next commit tries again
            log.warning("could not checkpoint %s: %s", self.path, exc)
        finally:
            if conn is not None:
                with contextlib.suppress(sqlite3.Error, ValueError):
                    await conn.close()

    async def checkpointed(self) -> None:
        """Wait until the log holds no commit the checkpointer has not copied."""
        while self._checkpointing is not None and not self._checkpointing.done():
            await asyncio.wait([self._checkpointing])

    async def schema_version(self) -> int:
        row = await self.fetchone(
            "SELECT max(version) FROM schema_migrations"
            " WHERE EXISTS (SELECT 1 FROM sqlite_master WHERE name = 'schema_migrations')"
        )
        return int(row[0]) if row is not None and row[0] is not None else 0

    async def check_writable(self) -> None:
        """Write and commit one row as it was, through the one writer (StoreError if
        it cannot): a readiness probe. An empty transaction would only prove the lock
        can be taken; a committed page reaches the write-ahead log on disk, so a
        read-only file or a full disk shows here before a digest fails on it."""

        def touch(conn: Connection) -> None:
            conn.execute(
                "UPDATE schema_migrations SET version = version"
                " WHERE version = (SELECT max(version) FROM schema_migrations)"
            )

        await self.write(touch)

    async def migrate(self, migrations: Iterable[Migration]) -> list[int]:
        """Apply the migrations newer than the database, each in its own transaction."""
        migrations = list(migrations)
        async with self.transaction() as conn:
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)"
            )
        current = await self.schema_version()
        known = max((migration.version for migration in migrations), default=0)
        if current > known:
            raise StoreError(
                f"{self.path} has schema version {current}, newer than this program knows"
                f" ({known}); upgrade the bot before using this database"
            )
        applied = []
        for migration in migrations:
            if migration.version <= current:
                continue
            async with self.transaction() as conn:
                for statement in _split_statements(migration.sql):
                    await conn.execute(statement)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name, applied_at)"
                    " VALUES (?, ?, unixepoch())",
                    (migration.version, migration.name),
                )
            log.info("database migrated to %04d_%s", migration.version, migration.name)
            applied.append(migration.version)
        return applied

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[_Transaction]:
        """A write of a few statements: `BEGIN IMMEDIATE` … `COMMIT`, rolled back on
        any error (bulk writes use `write`, one trip to the writer's thread)."""
        asked = time.perf_counter()
        async with self._write_lock:
            metrics.WRITER_LOCK_WAIT.observe(time.perf_counter() - asked)
            conn = self._writer
            try:
                await conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise StoreError(f"database is busy or unwritable: {exc}") from exc
            try:
                yield _Transaction(conn)
            except sqlite3.OperationalError as exc:
                await _rollback(conn)
                if _is_environmental(exc):
                    raise StoreError(f"could not save to the database: {exc}") from exc
                raise
            except BaseException:
                await _rollback(conn)
                raise
            try:
                await conn.execute("COMMIT")
            except sqlite3.Error as exc:
                await _rollback(conn)
                raise StoreError(f"could not save to the database: {exc}") from exc
            self._committed()

    async def write(self, work: Callable[[Connection], T]) -> T:
        """`work` as one transaction, whole, in a single trip to the writer's thread.

        For bulk writes of many statements (a digest run saves a few thousand
        targets a transaction): each statement awaited on its own waits for the
        event loop, and for the interpreter lock the loop's thread holds while
        it builds the next batch; here the thread goes from one statement to
        the next, and releases the lock while SQLite works. `work` gets the
        sqlite3 connection inside `BEGIN IMMEDIATE` and must not commit; any
        error rolls the whole transaction back, as `transaction` does."""
        asked = time.perf_counter()
        async with self._write_lock:
            metrics.WRITER_LOCK_WAIT.observe(time.perf_counter() - asked)
            result = await on_thread(self._writer, partial(_write_on_thread, work))
            self._committed()
            return result

    async def _read(self, sql: str, params: Params, budget: float | None, *, one: bool) -> Any:
        """One read, whole, in a single trip to the reader's thread.

        Statement, rows and budget are one call on that thread: reads queue there
        back to back and the thread goes from one to the next without waiting for the
        event loop, which at a few hundred updates a second is busy; a read in
        several trips (install the handler, execute, fetch, close, remove the
        handler) left the thread idle between them, and reads taking turns on the
        event loop to keep their handlers apart idled it between reads too. A budget
        counts from the moment the read starts on the thread, so it is the read's
        own time, and its handler is gone before the next read starts, even when
        the task that asked was cancelled meanwhile.
        """
        # aiosqlite runs a function on the connection's thread only through its
        # `_execute`; `_conn` is the sqlite3 connection that thread owns.
        reader = self._reader
        conn: sqlite3.Connection = reader._conn
        call = partial(_read_on_thread, conn, sql, params, budget, self.progress_steps, one)
        return await reader._execute(call)  # type: ignore[no-untyped-call]

    async def size_bytes(self) -> int:
        """The database's files on disk: the main file and its write-ahead log (the
        shared-memory index is scratch). A file not there (yet) counts 0."""
        total = 0
        for path in (self.path, self.path.with_name(self.path.name + "-wal")):
            with contextlib.suppress(OSError):
                total += path.stat().st_size
        return total

    async def backup(self, destination: Path) -> None:
        """An online, consistent copy of the database (safe while the bot runs)."""
        async with self._write_lock:
            target = await aiosqlite.connect(destination)
            try:
                await self._writer.backup(target)
            finally:
                await target.close()


def _read_on_thread(
    conn: sqlite3.Connection,
    sql: str,
    params: Params,
    budget: float | None,
    steps: int,
    one: bool,
) -> Any:
    """`Database._read` on the reader's thread: with a budget, SQLite's progress
    handler looks at the clock every `steps` virtual-machine steps and stops the
    statement once the budget is spent (OverBudget)."""
    if budget is None:
        return _fetch(conn, sql, params, one)
    deadline = time.monotonic() + max(budget, 0.0)
    stopped = False

    def spent() -> bool:
        nonlocal stopped
        stopped = stopped or time.monotonic() >= deadline
        return stopped

    conn.set_progress_handler(spent, max(1, steps))
    try:
        return _fetch(conn, sql, params, one)
    except sqlite3.OperationalError as exc:
        # "interrupted", or whatever the statement SQLite was inside says
        # (FTS5 reading its settings reports "vtable constructor failed").
        if not stopped:
            raise
        raise OverBudget(f"read stopped after its {budget:g} s budget") from exc
    finally:
        conn.set_progress_handler(None, 0)  # None: no handler


class _Transaction:
    """`SQLiteDatabase.transaction`'s open transaction on the writer."""

    __slots__ = ("_conn",)

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn

    async def execute(self, sql: str, parameters: Params = ()) -> aiosqlite.Cursor:
        return await self._conn.execute(sql, parameters)

    async def executemany(self, sql: str, parameters: Iterable[Params]) -> aiosqlite.Cursor:
        return await self._conn.executemany(sql, parameters)

    async def run(self, work: Callable[[Connection], T]) -> T:
        return await on_thread(self._conn, work)


async def on_thread(conn: aiosqlite.Connection, work: Callable[[sqlite3.Connection], T]) -> T:
    """`work(connection)` on an aiosqlite connection's own thread, in one trip.

    aiosqlite runs a function on the connection's thread only through its
    `_execute`; `_conn` is the sqlite3 connection that thread owns."""
    raw: sqlite3.Connection = conn._conn
    result: T = await conn._execute(partial(work, raw))  # type: ignore[no-untyped-call]
    return result


def _write_on_thread(work: Callable[[Connection], T], conn: sqlite3.Connection) -> T:
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        raise StoreError(f"database is busy or unwritable: {exc}") from exc
    try:
        result = work(conn)
        conn.execute("COMMIT")
    except sqlite3.OperationalError as exc:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        if _is_environmental(exc):
            raise StoreError(f"could not save to the database: {exc}") from exc
        raise
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    return result


def _fetch(conn: sqlite3.Connection, sql: str, params: Params, one: bool) -> Any:
    cursor = conn.execute(sql, params)
    try:
        return cursor.fetchone() if one else cursor.fetchall()
    finally:
        cursor.close()


async def _rollback(conn: aiosqlite.Connection) -> None:
    """Roll back unless SQLite already did (it does on a full disk, for one)."""
    if conn.in_transaction:
        await conn.execute("ROLLBACK")


def _is_environmental(exc: sqlite3.OperationalError) -> bool:
    """Failures of the machine, not of the SQL: full disk, locks, read-only files."""
    text = str(exc).lower()
    return any(
        marker in text for marker in ("full", "locked", "readonly", "read-only", "disk i/o", "busy")
    )


def _split_statements(script: str) -> list[str]:
    """Split a migration into statements (sqlite3.complete_statement knows about quotes)."""
    statements: list[str] = []
    buffer = ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            statement = buffer.strip()
            if statement.strip(";").strip():
                statements.append(statement)
            buffer = ""
    if buffer.strip() and not all(
        line.strip().startswith("--") or not line.strip() for line in buffer.splitlines()
    ):
        raise StoreError(f"incomplete SQL statement in migration: {buffer.strip()[:80]}")
    return statements
