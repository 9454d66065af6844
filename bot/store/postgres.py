"""The PostgreSQL engine: the store several replicas share.

It keeps the SQLite engine's shape, so the store modules run unchanged on it: one
writer connection and reader connections per process, each a blocking psycopg
connection on a thread of its own, so a store function's statements go to the
server in one trip from the event loop (`write`), as aiosqlite's thread does for
SQLite. Unlike SQLite's one reader, up to `READERS` reads run at once: the
server works on them side by side, where one connection queued every search
behind the one before (at a million articles a bot answered 19-27 of 30 updates
a second, its replies waiting seconds). Writes in one process queue on a lock;
between processes PostgreSQL's own row locks and transactions order them.

Statements are written once for both engines, with SQLite's `?` and `:name`
parameters; `_translate` turns them into psycopg's (`%s`, `%(name)s`) once per
text. Values are bound on the client (`ClientCursor`): the store's SQL compares
untyped parameters with NULL (`:limit IS NULL`), which the server cannot type
when they come apart from the statement.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import re
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any, TypeVar, cast

import psycopg
from psycopg import errors as pg_errors
from psycopg import postgres
from psycopg.adapt import Dumper
from psycopg.rows import RowMaker

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

MIN_SERVER_VERSION = 150000
"""PostgreSQL 15, the oldest this store is tested on (Debian 12's)."""
CONNECT_TIMEOUT = 10
READERS = 4
"""Reader connections a process may open, each when reads first overlap that far."""
MIGRATION_LOCK = 0x6469_6765_7374  # "digest": one advisory lock key for schema changes


class PgRow(tuple[Any, ...]):
    """A row by position or by column name, as sqlite3.Row gives it."""

    __slots__ = ()
    _index: dict[str, int]

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return tuple.__getitem__(self, self._index[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._index)


def _row_factory(cursor: psycopg.Cursor[Any]) -> RowMaker[PgRow]:
    description = cursor.description
    if description is None:
        return tuple  # type: ignore[return-value]
    return _row_class(tuple(column.name for column in description))


@functools.lru_cache(maxsize=1024)
def _row_class(names: tuple[str, ...]) -> RowMaker[PgRow]:
    """One row class per set of columns, made once (a query's rows share it)."""
    kind = type("Row", (PgRow,), {"__slots__": (), "_index": {n: i for i, n in enumerate(names)}})
    return cast("RowMaker[PgRow]", kind)


_TOKENS = re.compile(
    r"""
    (?P<literal>'(?:[^']|'')*')          # 'text', kept as written
    | (?P<quoted>"(?:[^"]|"")*")         # "identifier"
    | (?P<comment>--[^\n]*)
    | (?P<cast>::)                       # PostgreSQL's cast, not a parameter
    | (?P<named>:[A-Za-z_][A-Za-z0-9_]*)
    | (?P<positional>\?)
    | (?P<percent>%)
    """,
    re.VERBOSE,
)


@functools.lru_cache(maxsize=2048)
def _translate(sql: str, bound: bool) -> str:
    """SQLite's parameters as psycopg's: `?` → `%s`, `:name` → `%(name)s`, and
    every other `%` doubled (psycopg reads `%` as a parameter). Without values
    psycopg reads the text as it is."""

    def replace(match: re.Match[str]) -> str:
        kind = match.lastgroup
        if kind == "named":
            return f"%({match.group()[1:]})s"
        if kind == "positional":
            return "%s"
        if kind == "cast":
            return "::"
        # psycopg reads every `%` as a parameter, in quotes too.
        return match.group().replace("%", "%%")

    if not bound:
        return sql
    return _TOKENS.sub(replace, sql)


def _bound(params: Params | None) -> Any:
    """Parameters as psycopg takes them: a tuple, a dict, or None for none."""
    if params is None:
        return None
    if isinstance(params, dict):
        return params
    if isinstance(params, Sequence):
        return tuple(params)
    return dict(params)


class _FlagDumper(Dumper):
    """Python's True and False as 1 and 0: the schema keeps SQLite's 0/1 flags as
    integers, so a flag written from a bool reads back the same on both engines."""

    oid = postgres.types["int2"].oid

    def dump(self, obj: Any) -> bytes:
        return b"1" if obj else b"0"

    def quote(self, obj: Any) -> bytes:
        return self.dump(obj)


class _Connection:
    """A psycopg connection as `write`'s work sees it: sqlite3's execute and executemany."""

    __slots__ = ("raw",)

    def __init__(self, raw: psycopg.Connection[PgRow]) -> None:
        self.raw = raw

    def execute(self, sql: str, parameters: Params = ()) -> psycopg.Cursor[PgRow]:
        cursor = self.raw.cursor()
        bound = bool(parameters)
        cursor.execute(_translate(sql, bound), _bound(parameters) if bound else None)
        return cursor

    def executemany(self, sql: str, parameters: Iterable[Params]) -> psycopg.Cursor[PgRow]:
        cursor = self.raw.cursor()
        cursor.executemany(_translate(sql, True), [_bound(p) for p in parameters])
        return cursor


class _Result:
    """A statement's outcome, read whole on the connection's thread."""

    __slots__ = ("_rows", "rowcount")

    def __init__(self, rowcount: int, rows: list[PgRow]) -> None:
        self.rowcount = rowcount
        self._rows = rows

    async def fetchone(self) -> PgRow | None:
        return self._rows.pop(0) if self._rows else None

    async def fetchall(self) -> list[PgRow]:
        rows, self._rows = self._rows, []
        return rows


def _run(conn: _Connection, sql: str, parameters: Any, many: bool) -> _Result:
    cursor = conn.executemany(sql, parameters) if many else conn.execute(sql, parameters)
    rows = cursor.fetchall() if cursor.description is not None else []
    return _Result(cursor.rowcount, rows)


class _Link:
    """One connection and the one thread that uses it."""

    def __init__(self, location: Location, name: str) -> None:
        self.location = location
        self._thread = ThreadPoolExecutor(1, thread_name_prefix=f"postgres-{name}")
        self.conn: _Connection | None = None
        self.calls = 0  # made or waiting on this link's thread now

    def _connect(self) -> _Connection:
        raw = psycopg.connect(
            self.location.url or "",
            autocommit=True,
            connect_timeout=CONNECT_TIMEOUT,
            cursor_factory=psycopg.ClientCursor,
            row_factory=_row_factory,
            application_name="digestbot",
        )
        raw.adapters.register_dumper(bool, _FlagDumper)
        return _Connection(raw)

    def _with_connection(self, work: Callable[[_Connection], T]) -> T:
        if self.conn is None or self.conn.raw.broken or self.conn.raw.closed:
            self.conn = self._connect()
        return work(self.conn)

    async def call(self, work: Callable[[_Connection], T]) -> T:
        loop = asyncio.get_running_loop()
        self.calls += 1
        try:
            return await loop.run_in_executor(
                self._thread, functools.partial(self._with_connection, work)
            )
        except pg_errors.QueryCanceled:
            raise
        except psycopg.OperationalError as exc:
            raise StoreError(f"PostgreSQL at {self.location}: {_first_line(exc)}") from exc
        finally:
            self.calls -= 1

    async def close(self) -> None:
        def close() -> None:
            if self.conn is not None:
                self.conn.raw.close()

        with contextlib.suppress(psycopg.Error):
            await asyncio.get_running_loop().run_in_executor(self._thread, close)
        self._thread.shutdown(wait=False)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class _Transaction:
    """`PostgresDatabase.transaction`'s open transaction on the writer."""

    __slots__ = ("_link",)

    def __init__(self, link: _Link) -> None:
        self._link = link

    async def execute(self, sql: str, parameters: Params = ()) -> _Result:
        return await self._link.call(
            functools.partial(_run, sql=sql, parameters=parameters, many=False)
        )

    async def executemany(self, sql: str, parameters: Iterable[Params]) -> _Result:
        rows = list(parameters)
        return await self._link.call(functools.partial(_run, sql=sql, parameters=rows, many=True))

    async def run(self, work: Callable[[Connection], T]) -> T:
        return await self._link.call(work)


class PostgresDatabase(Database):
    """An open PostgreSQL store (`Database.open` with a postgresql:// URL opens one)."""

    dialect = "postgresql"

    def __init__(self, location: Location, writer: _Link) -> None:
        self.location = location
        self._writer = writer
        self._readers = [_Link(location, f"reader-{n}") for n in range(1, READERS + 1)]
        self._write_lock = asyncio.Lock()

    @classmethod
    async def connect(
        cls, location: Location, migrations: Iterable[Migration] | None = None
    ) -> PostgresDatabase:
        db = cls(location, _Link(location, "writer"))
        try:
            version = await db._writer.call(lambda conn: conn.raw.info.server_version)
            if version < MIN_SERVER_VERSION:
                raise StoreError(
                    f"PostgreSQL at {location} is version {_version_text(version)};"
                    f" this bot needs {_version_text(MIN_SERVER_VERSION)} or newer"
                )
            await db.migrate(bundled_migrations("postgresql") if migrations is None else migrations)
        except BaseException:
            await db.close()
            raise
        return db

    async def close(self) -> None:
        async with self._write_lock:
            for reader in self._readers:
                await reader.close()
            await self._writer.close()

    async def schema_version(self) -> int:
        value = await self.fetchval(
            "SELECT max(version) FROM schema_migrations"
            " WHERE to_regclass('schema_migrations') IS NOT NULL"
        )
        return int(value) if value is not None else 0

    async def check_writable(self) -> None:
        def touch(conn: Connection) -> None:
            conn.execute(
                "UPDATE schema_migrations SET version = version"
                " WHERE version = (SELECT max(version) FROM schema_migrations)"
            )

        await self.write(touch)

    async def migrate(self, migrations: Iterable[Migration]) -> list[int]:
        """Apply the newer migrations under an advisory lock: replicas that start
        together take turns, and the later ones find nothing left to do."""
        migrations = list(migrations)
        known = max((migration.version for migration in migrations), default=0)
        where = self.location

        def apply(conn: _Connection) -> list[int]:
            conn.execute("SELECT pg_advisory_lock(?)", (MIGRATION_LOCK,))
            try:
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY,"
                    " name TEXT NOT NULL, applied_at BIGINT NOT NULL)"
                )
                row = conn.execute("SELECT max(version) FROM schema_migrations").fetchone()
                current = int(row[0]) if row is not None and row[0] is not None else 0
                if current > known:
                    raise StoreError(
                        f"{where} has schema version {current}, newer than this program"
                        f" knows ({known}); upgrade the bot before using this database"
                    )
                applied = []
                for migration in migrations:
                    if migration.version <= current:
                        continue
                    with conn.raw.transaction():
                        conn.raw.execute(migration.sql.encode())
                        conn.execute(
                            "INSERT INTO schema_migrations (version, name, applied_at)"
                            " VALUES (?, ?, ?)",
                            (migration.version, migration.name, int(time.time())),
                        )
                    log.info("database migrated to %04d_%s", migration.version, migration.name)
                    applied.append(migration.version)
                return applied
            finally:
                if not conn.raw.broken:
                    conn.execute("SELECT pg_advisory_unlock(?)", (MIGRATION_LOCK,))

        async with self._write_lock:
            return await self._writer.call(apply)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[_Transaction]:
        asked = time.perf_counter()
        async with self._write_lock:
            metrics.WRITER_LOCK_WAIT.observe(time.perf_counter() - asked)
            await self._writer.call(_begin)
            try:
                yield _Transaction(self._writer)
            except BaseException:
                await _rollback(self._writer)
                raise
            await self._writer.call(_commit)

    async def write(self, work: Callable[[Connection], T]) -> T:
        asked = time.perf_counter()
        async with self._write_lock:
            metrics.WRITER_LOCK_WAIT.observe(time.perf_counter() - asked)
            return await self._writer.call(functools.partial(_write_on_thread, work))

    async def size_bytes(self) -> int:
        return int(await self.fetchval("SELECT pg_database_size(current_database())"))

    def _reader(self) -> _Link:
        """The least busy reader, an open one first: a connection is opened only when
        that many reads overlap."""
        return min(self._readers, key=lambda link: (link.calls, link.conn is None))

    async def _read(self, sql: str, params: Params, budget: float | None, *, one: bool) -> Any:
        try:
            return await self._reader().call(
                functools.partial(_read_on_thread, sql=sql, params=params, budget=budget, one=one)
            )
        except pg_errors.QueryCanceled as exc:
            raise OverBudget(f"read stopped after its {budget:g} s budget") from exc


def checkup(location: Location) -> tuple[int, int, tuple[str, ...]]:
    """The server's version, the store's schema version (0 before the first start)
    and the feeds it lists, read without migrating anything (`python -m bot doctor`)."""
    try:
        with psycopg.connect(
            location.url or "", autocommit=True, connect_timeout=CONNECT_TIMEOUT
        ) as conn:
            server = conn.info.server_version
            if conn.execute("SELECT to_regclass('schema_migrations')").fetchone() == (None,):
                return server, 0, ()
            row = conn.execute("SELECT max(version) FROM schema_migrations").fetchone()
            schema = int(row[0]) if row is not None and row[0] is not None else 0
            feeds: tuple[str, ...] = ()
            if conn.execute("SELECT to_regclass('feeds')").fetchone() != (None,):
                found = conn.execute("SELECT url FROM feeds WHERE removed_at IS NULL ORDER BY id")
                feeds = tuple(str(url) for (url,) in found)
            return server, schema, feeds
    except psycopg.Error as exc:
        raise StoreError(f"PostgreSQL at {location}: {_first_line(exc)}") from exc


def _version_text(number: int) -> str:
    return f"{number // 10000}.{number % 10000}"


def _begin(conn: _Connection) -> None:
    conn.raw.execute(b"BEGIN")


def _commit(conn: _Connection) -> None:
    conn.raw.execute(b"COMMIT")


async def _rollback(link: _Link) -> None:
    def rollback(conn: _Connection) -> None:
        if not conn.raw.broken:
            conn.raw.execute(b"ROLLBACK")

    with contextlib.suppress(StoreError, psycopg.Error):
        await link.call(rollback)


def _write_on_thread(work: Callable[[Connection], T], conn: _Connection) -> T:
    conn.raw.execute(b"BEGIN")
    try:
        result = work(conn)
    except BaseException:
        if not conn.raw.broken:
            conn.raw.execute(b"ROLLBACK")
        raise
    conn.raw.execute(b"COMMIT")
    return result


def _read_on_thread(
    conn: _Connection, sql: str, params: Params, budget: float | None, one: bool
) -> Any:
    """One read; with a budget, the server stops it once spent (statement_timeout)."""
    if budget is not None:
        milliseconds = max(1, int(budget * 1000))
        conn.raw.execute(f"SET statement_timeout = {milliseconds}".encode())
    try:
        cursor = conn.execute(sql, params)
        return cursor.fetchone() if one else cursor.fetchall()
    finally:
        if budget is not None and not conn.raw.broken:
            conn.raw.execute(b"SET statement_timeout = 0")
