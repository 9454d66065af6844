"""The store's database, on either engine: what every store module writes against.

SQLite (`bot.store.sqlite`) is the embedded default: one file, no server.
PostgreSQL (`bot.store.postgres`) is the shared store several replicas use, chosen
by a `postgresql://` URL. Both give the same small surface: reads by one call
(`fetchall`, `fetchone`, `fetchval`, with an optional time budget), a few
statements as one transaction (`transaction`), a bulk write as one trip to the
writer's thread (`write`), numbered migrations. The store modules write their SQL
once, with `?` or `:name` parameters, and keep a second text beside it only where
the engines' dialects differ (`Database.dialect` says which one is open).

The PostgreSQL engine is imported only when a PostgreSQL URL is opened: the
embedded default does not pay for a driver it does not use.
"""

from __future__ import annotations

import abc
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar
from urllib.parse import unquote, urlsplit

T = TypeVar("T")

Dialect = Literal["sqlite", "postgresql"]
Params = Sequence[Any] | Mapping[str, Any]


class StoreError(Exception):
    """A database problem described in one line for the operator."""


class OverBudget(Exception):
    """A read ran past its time budget and was stopped; the reader is free again."""


class Row(Protocol):
    """A result row, by position or by column name (sqlite3.Row on SQLite)."""

    def __getitem__(self, key: int | str, /) -> Any: ...

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[Any]: ...

    def keys(self) -> list[str]: ...


class Cursor(Protocol):
    """What a statement run by `write`'s work returns (sqlite3.Cursor on SQLite)."""

    @property
    def rowcount(self) -> int: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """The connection `write`'s work gets, inside its transaction, on the writer's
    own thread (sqlite3.Connection on SQLite)."""

    def execute(self, sql: str, parameters: Params = ..., /) -> Cursor: ...

    def executemany(self, sql: str, parameters: Iterable[Params], /) -> Cursor: ...


class AsyncCursor(Protocol):
    @property
    def rowcount(self) -> int: ...

    async def fetchone(self) -> Any: ...

    async def fetchall(self) -> Iterable[Any]: ...


class Transaction(Protocol):
    """An open write transaction (`Database.transaction`): statements awaited one
    by one, or a function run whole on the writer's thread (`run`)."""

    def execute(self, sql: str, parameters: Params = ..., /) -> Awaitable[AsyncCursor]: ...

    def executemany(self, sql: str, parameters: Iterable[Params], /) -> Awaitable[AsyncCursor]: ...

    async def run(self, work: Callable[[Connection], T]) -> T: ...


def is_database_error(exc: BaseException) -> bool:
    """An error the engine raised (sqlite3's or psycopg's), told apart without
    importing the driver a SQLite bot never loads."""
    module = type(exc).__module__
    return module == "sqlite3" or module.startswith("psycopg")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def bundled_migrations(dialect: Dialect = "sqlite") -> list[Migration]:
    """The numbered `NNNN_name.sql` files shipped for an engine: SQLite's in
    `bot/store/migrations`, PostgreSQL's in its `postgresql` folder. Both number
    the same schema alike, so a version means the same tables on either."""
    folder = resources.files("bot.store") / "migrations"
    if dialect == "postgresql":
        folder = folder / "postgresql"
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql") and entry.name[:4].isdigit():
            version = int(entry.name[:4])
            found.append(Migration(version, entry.name[5:-4], entry.read_text("utf-8")))
    found.sort(key=lambda migration: migration.version)
    return found


@dataclass(frozen=True)
class Location:
    """Where a store lives: a SQLite file, or a PostgreSQL server's database."""

    dialect: Dialect
    path: Path | None = None  # SQLite
    url: str | None = None  # PostgreSQL, as given (it may hold a password)

    def __str__(self) -> str:
        """The location for logs and messages, never with its password."""
        if self.path is not None:
            return str(self.path)
        parts = urlsplit(self.url or "")
        host = parts.hostname or "localhost"
        port = f":{parts.port}" if parts.port else ""
        user = f"{unquote(parts.username)}@" if parts.username else ""
        return f"postgresql://{user}{host}{port}{parts.path}"


def locate(target: str | Path) -> Location:
    """A path, `sqlite:///path` or `postgresql://…` as a `Location`; StoreError with
    one line naming what is accepted for anything else."""
    if isinstance(target, Path):
        return Location("sqlite", path=target)
    scheme = target.partition("://")[0].lower() if "://" in target else ""
    if not scheme:
        return Location("sqlite", path=Path(target))
    if scheme == "sqlite":
        path = target.partition("://")[2]
        if not path.startswith("/") or path == "/":
            raise StoreError(
                f"{target!r}: a SQLite URL is sqlite:///relative/path or sqlite:////abs"
            )
        return Location("sqlite", path=Path(path[1:]))
    if scheme in ("postgresql", "postgres"):
        try:
            parts = urlsplit(target)
            parts.port  # noqa: B018 - raises on a port that is not a number
        except ValueError as exc:
            raise StoreError(f"DATABASE_URL is not a valid PostgreSQL URL: {exc}") from None
        if not (parts.path or "").strip("/"):
            raise StoreError(
                "DATABASE_URL names no database: postgresql://user:password@host:5432/database"
            )
        return Location("postgresql", url=target)
    raise StoreError(
        f"DATABASE_URL must be postgresql://user:password@host:port/database"
        f" or sqlite:///path, not {scheme}://…"
    )


class Database(abc.ABC):
    """An open store on one engine. `await Database.open(path or url)`; close with
    `await db.close()`."""

    dialect: Dialect
    location: Location

    @staticmethod
    async def open(
        target: str | Path | Location, migrations: Iterable[Migration] | None = None
    ) -> Database:
        """Open (creating a SQLite file if needed) and upgrade the store at `target`."""
        where = target if isinstance(target, Location) else locate(target)
        if where.dialect == "postgresql":
            from bot.store.postgres import PostgresDatabase

            return await PostgresDatabase.connect(where, migrations)
        from bot.store.sqlite import SQLiteDatabase

        assert where.path is not None
        return await SQLiteDatabase.connect(where.path, migrations)

    @abc.abstractmethod
    async def close(self) -> None: ...

    @abc.abstractmethod
    async def schema_version(self) -> int: ...

    @abc.abstractmethod
    async def check_writable(self) -> None:
        """Write and commit one row as it was: a readiness probe (StoreError if not)."""

    @abc.abstractmethod
    async def migrate(self, migrations: Iterable[Migration]) -> list[int]:
        """Apply the migrations newer than the store, each in its own transaction."""

    @abc.abstractmethod
    def transaction(self) -> AbstractAsyncContextManager[Transaction]:
        """A write of a few statements, committed whole or rolled back on any error."""

    @abc.abstractmethod
    async def write(self, work: Callable[[Connection], T]) -> T:
        """`work(connection)` as one transaction, whole, in one trip to the writer's
        thread; it must not commit, and any error rolls it back."""

    @abc.abstractmethod
    async def _read(self, sql: str, params: Params, budget: float | None, *, one: bool) -> Any:
        """One read, whole, in one trip to the reader; OverBudget past `budget` seconds."""

    async def fetchall(
        self, sql: str, params: Params = (), *, budget: float | None = None
    ) -> list[Row]:
        """Every row; with a `budget` (seconds), OverBudget once it is spent."""
        rows: list[Row] = await self._read(sql, params, budget, one=False)
        return rows

    async def fetchone(
        self, sql: str, params: Params = (), *, budget: float | None = None
    ) -> Row | None:
        row: Row | None = await self._read(sql, params, budget, one=True)
        return row

    async def fetchval(self, sql: str, params: Params = (), *, budget: float | None = None) -> Any:
        row = await self.fetchone(sql, params, budget=budget)
        return None if row is None else row[0]

    @abc.abstractmethod
    async def size_bytes(self) -> int:
        """The store's size on disk (a SQLite file and its log; a PostgreSQL database)."""
