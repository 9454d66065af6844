"""Moving a whole SQLite store into PostgreSQL: `python -m bot store copy`.

Run while the bot is stopped: the SQLite file's instance lock is held for the
whole copy (a bot running on it refuses to start, and a running one makes the
copy refuse), and a bot still connected to the PostgreSQL database makes it
refuse too.

Both stores are opened as the bot opens them first (`Database.open`), so they
are at the same schema version: an older SQLite file is migrated up (the report
says from which version), an empty PostgreSQL database gets the whole schema.
Then the tables are compared by name and columns, and any difference is a
refusal: the copy moves every table the schema has, named from SQLite's own
catalogue, not from a list here that a later migration could leave behind.

The copy is one PostgreSQL transaction: TRUNCATE every table, COPY each one in
the order its foreign keys need (they stay checked), move every identity past
the ids it brought, count each table's rows against the source's, compare the
columns triggers keep, COMMIT. Any failure rolls it all back, and a copy that
is killed midway is rolled back by the server: the target is either as it was
or equal to the source, so running the same copy again is always safe. A target
that holds rows already is only overwritten when asked (`replace`), so a copy
pointed at the wrong database does not wipe it.

The tables' own triggers (topic counts, subscription keys) are switched off for
the copy, inside the transaction: they would add every copied tag to a topic
count the copied topic row already holds. `ALTER TABLE … DISABLE TRIGGER USER`
needs only the tables' owner, who migrated them, and leaves the foreign-key
checks on, which `session_replication_role = replica` would switch off too.

SQLite's search index is contentless: it keeps its words but not the texts they
came from, and gives back only article ids. Each indexed article's index text is
made again from its title and summary by the same `indexer` the ingest and the
index rebuild use (passed in: it lives above the store), so the PostgreSQL index
holds the articles SQLite's did, and an index rebuild still waiting in
`search_reindex` goes on where it was once the bot starts on PostgreSQL.

The source is read in one read transaction (one consistent moment), a table at
a time in batches, so a store of a million articles is never in memory at once.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from graphlib import TopologicalSorter
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from bot.store.articles import Indexer
from bot.store.db import Database, Location, StoreError, locate
from bot.store.lock import InstanceLock

BATCH = 5_000
"""Rows read from SQLite per fetch."""
SEARCH_TABLE = "article_search"
SEARCH_COLUMNS = ("rowid", "title_en", "title_es", "summary_en", "summary_es", "language")
ENGINE_TABLES = frozenset({"schema_migrations"})
"""Each engine's own record of the migrations it ran: compared (the versions must
be equal), never copied; PostgreSQL's starts at its one whole-schema migration."""
FTS5_SHADOWS = ("_data", "_idx", "_content", "_docsize", "_config")
TRIGGER_KEPT = {"topics": ("slug", "articles"), "targets": ("id", "subscription_key")}
"""Columns the tables' triggers keep, each with the key to compare rows by: after
the copy they must hold the source's values, not values the triggers made."""
LOCK_TIMEOUT = "10s"
"""How long the copy waits for a table someone else holds, then gives up in one line."""
CONNECT_TIMEOUT = 10
BOT_APPLICATION = "digestbot"  # bot.store.postgres names its connections so


@dataclass(frozen=True)
class CopyReport:
    """What a copy did, for the command to print."""

    source: Location
    target: Location
    version: int
    migrated_from: int | None  # the source's schema version before it was migrated
    tables: tuple[tuple[str, int], ...]  # in the order copied
    seconds: float
    replaced: bool  # the target held rows, overwritten as asked
    unindexed: int  # search index entries of articles the source no longer has

    @property
    def rows(self) -> int:
        return sum(count for _, count in self.tables)


async def copy_store(
    source: str | Path,
    target: str,
    *,
    indexer: Indexer,
    replace: bool = False,
    batch: int = BATCH,
) -> CopyReport:
    """Copy the SQLite store at `source` (a path or sqlite:///path) into the
    PostgreSQL database at `target` (postgresql://…), as one transaction.

    StoreError in one line for every expected failure: a bad URL, a missing
    file, a server that does not answer, schemas that differ, a target that
    holds rows without `replace`, a value PostgreSQL refuses (the target is then
    left as it was)."""
    started = time.monotonic()
    where = _source(source)
    destination = _target(target)
    assert where.path is not None
    path = where.path
    if not path.is_file():
        raise StoreError(f"there is no database at {path}")
    lock = InstanceLock.acquire(path)
    try:
        before = await asyncio.to_thread(_sqlite_version, path)
        if before == 0:
            raise StoreError(f"{path} holds no store of this bot (it has no schema version)")
        await asyncio.to_thread(_refuse_connected_bots, destination)
        version = await _open_and_close(where)
        target_version = await _open_and_close(destination)
        if version != target_version:
            raise StoreError(
                f"{path} is at schema version {version} and {destination} at {target_version};"
                " run the same version of the bot on both"
            )
        copied, replaced, unindexed = await asyncio.to_thread(
            _copy, path, destination, indexer, replace, batch
        )
    finally:
        lock.release()
    return CopyReport(
        source=where,
        target=destination,
        version=version,
        migrated_from=before if before != version else None,
        tables=tuple(copied),
        seconds=time.monotonic() - started,
        replaced=replaced,
        unindexed=unindexed,
    )


def _source(source: str | Path) -> Location:
    if isinstance(source, Path):
        return Location("sqlite", path=source)
    where = _located(source, "source")
    if where.dialect != "sqlite":
        raise StoreError(f"the source must be a SQLite store (sqlite:///path), not {where}")
    return where


def _target(target: str) -> Location:
    if not target.lower().startswith(("postgresql://", "postgres://")):
        # Only the scheme is named: the rest may hold a password.
        given = f"not {target.partition('://')[0]}://…" if "://" in target else "not a URL"
        raise StoreError(
            f"the target must be a PostgreSQL URL (postgresql://user:password@host:5432/database),"
            f" {given}"
        )
    return _located(target, "target")


def _located(text: str, role: str) -> Location:
    """`locate`, its one line speaking of the source or target, not DATABASE_URL."""
    try:
        return locate(text)
    except StoreError as exc:
        raise StoreError(str(exc).replace("DATABASE_URL", f"the {role}")) from None


async def _open_and_close(where: Location) -> int:
    """Open the store as the bot does, which migrates it; its schema version."""
    db = await Database.open(where)
    try:
        return await db.schema_version()
    finally:
        await db.close()


def _read_only(path: Path) -> sqlite3.Connection:
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.Error as exc:
        raise StoreError(f"{path} is not a usable SQLite database: {exc}") from None
    return conn


def _sqlite_version(path: Path) -> int:
    conn = _read_only(path)
    try:
        known = conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
        ).fetchone()
        if known is None:
            return 0
        row = conn.execute("SELECT max(version) FROM schema_migrations").fetchone()
        return int(row[0]) if row is not None and row[0] is not None else 0
    finally:
        conn.close()


def _connect(where: Location) -> psycopg.Connection[tuple[Any, ...]]:
    try:
        return psycopg.connect(
            where.url or "",
            connect_timeout=CONNECT_TIMEOUT,
            application_name=f"{BOT_APPLICATION} store copy",
        )
    except psycopg.OperationalError as exc:
        raise StoreError(f"PostgreSQL at {where}: {_first_line(exc)}") from None


def _refuse_connected_bots(where: Location) -> None:
    """A bot still connected would go on writing into tables the copy replaces."""
    with _connect(where) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE datname = current_database() AND application_name = %s",
            (BOT_APPLICATION,),
        ).fetchone()
    if row is not None and row[0]:
        raise StoreError(
            f"{row[0]} connection(s) of a running bot are open on {where}; stop the bot first"
        )


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _sqlite_tables(conn: sqlite3.Connection) -> dict[str, tuple[str, ...]]:
    """Every table of the SQLite store with its columns: not SQLite's own
    (`sqlite_*`), not the shadow tables FTS5 keeps its index in, not views."""
    rows = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'").fetchall()
    virtual = {name for name, text in rows if str(text).upper().startswith("CREATE VIRTUAL")}
    shadows = {f"{name}{suffix}" for name in virtual for suffix in FTS5_SHADOWS}
    tables: dict[str, tuple[str, ...]] = {}
    for name, _ in rows:
        if name.startswith("sqlite_") or name in shadows:
            continue
        if name in virtual and name != SEARCH_TABLE:
            raise StoreError(f"cannot copy the virtual table {name}: only {SEARCH_TABLE} is known")
        columns = tuple(row[1] for row in conn.execute(f'PRAGMA table_info("{name}")'))
        tables[name] = ("rowid", *columns) if name in virtual else columns
    return tables


def _postgres_tables(conn: psycopg.Connection[Any]) -> dict[str, dict[str, str]]:
    """Every table of the PostgreSQL store: its columns a copy writes (not the
    generated ones) and their types."""
    tables: dict[str, dict[str, str]] = {}
    for table in conn.execute(
        "SELECT table_name FROM information_schema.tables"
        " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
    ):
        tables[table[0]] = {}
    for name, column, kind in conn.execute(
        "SELECT table_name, column_name, data_type FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND is_generated = 'NEVER'"
        " ORDER BY table_name, ordinal_position"
    ):
        if name in tables:
            tables[name][column] = kind
    return tables


def _compare(lite: Mapping[str, Sequence[str]], postgres: Mapping[str, Mapping[str, str]]) -> None:
    """StoreError naming the first difference between the two stores' tables."""
    only_lite = sorted(set(lite) - set(postgres))
    only_postgres = sorted(set(postgres) - set(lite))
    if only_lite or only_postgres:
        raise StoreError(
            "the stores' tables differ:"
            f" only in SQLite: {', '.join(only_lite) or 'none'};"
            f" only in PostgreSQL: {', '.join(only_postgres) or 'none'}"
        )
    for table in sorted(lite):
        if set(lite[table]) != set(postgres[table]):
            missing = sorted(set(lite[table]) ^ set(postgres[table]))
            raise StoreError(f"the stores' table {table} differs in columns: {', '.join(missing)}")


def _copy_order(conn: psycopg.Connection[Any], tables: Sequence[str]) -> list[str]:
    """The tables, each after those its foreign keys refer to (by name where free)."""
    needs: dict[str, set[str]] = {table: set() for table in tables}
    for child, parent in conn.execute(
        "SELECT c.relname, p.relname FROM pg_constraint AS k"
        " JOIN pg_class AS c ON c.oid = k.conrelid"
        " JOIN pg_class AS p ON p.oid = k.confrelid"
        " WHERE k.contype = 'f' AND c.relnamespace = current_schema()::regnamespace"
    ):
        if child in needs and parent in needs and child != parent:
            needs[child].add(parent)
    sorter = TopologicalSorter(needs)
    sorter.prepare()
    order: list[str] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready())
        order += ready
        sorter.done(*ready)
    return order


def _source_rows(
    conn: sqlite3.Connection,
    table: str,
    columns: Sequence[str],
    types: Mapping[str, str],
    indexer: Indexer,
    batch: int,
) -> Iterator[tuple[Any, ...]]:
    """The table's rows in `columns`' order, a batch at a time. A text column
    gives text even where SQLite's dynamic typing let a BLOB in (PostgreSQL's
    text COPY would take its bytes for bytea)."""
    if table == SEARCH_TABLE:
        cursor = conn.execute(
            "SELECT a.id, a.title, a.summary, a.language"
            " FROM article_search AS s JOIN articles AS a ON a.id = s.rowid"
        )
        while rows := cursor.fetchmany(batch):
            for article_id, title, summary, language in rows:
                yield (article_id, *indexer(title, summary), f"_{language}")
        return
    selected = ", ".join(
        f'CASE WHEN typeof("{c}") = \'blob\' THEN CAST("{c}" AS TEXT) ELSE "{c}" END'
        if types[c] == "text"
        else f'"{c}"'
        for c in columns
    )
    cursor = conn.execute(f'SELECT {selected} FROM "{table}"')
    while rows := cursor.fetchmany(batch):
        yield from rows


def _copy(
    path: Path, where: Location, indexer: Indexer, replace: bool, batch: int
) -> tuple[list[tuple[str, int]], bool, int]:
    """The copy itself, as one PostgreSQL transaction (see the module's words)."""
    lite = _read_only(path)
    try:
        lite.execute("BEGIN")  # one read transaction: the source at one moment
        with _connect(where) as conn:
            try:
                with conn.transaction():
                    return _copy_in_transaction(lite, conn, where, indexer, replace, batch)
            except _Refused as exc:
                raise StoreError(f"{exc}; nothing was changed in {where}") from None
            except psycopg.Error as exc:
                raise StoreError(
                    f"{_first_line(exc)}{_context(exc)}; nothing was changed in {where}"
                ) from None
    except sqlite3.Error as exc:
        raise StoreError(f"reading {path}: {exc}; nothing was changed in {where}") from None
    finally:
        lite.close()


def _context(exc: psycopg.Error) -> str:
    """Where the server was when it refused: `COPY outbox, line 3, column …`."""
    diag = getattr(exc, "diag", None)
    context = diag.context if diag is not None else None
    return f" ({context.splitlines()[0][:200]})" if context else ""


class _Refused(Exception):
    """A check after the copy failed: the transaction is rolled back like on any error."""


def _copy_in_transaction(
    lite: sqlite3.Connection,
    conn: psycopg.Connection[Any],
    where: Location,
    indexer: Indexer,
    replace: bool,
    batch: int,
) -> tuple[list[tuple[str, int]], bool, int]:
    conn.execute(sql.SQL("SET LOCAL lock_timeout = {}").format(sql.Literal(LOCK_TIMEOUT)))
    lite_tables = _sqlite_tables(lite)
    postgres = _postgres_tables(conn)
    _compare(lite_tables, postgres)
    tables = _copy_order(conn, [t for t in lite_tables if t not in ENGINE_TABLES])
    names = sql.SQL(", ").join(sql.Identifier(t) for t in tables)

    held = [
        table
        for table in tables
        if conn.execute(
            sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(sql.Identifier(table))
        ).fetchone()
        == (True,)
    ]
    if held and not replace:
        raise StoreError(
            f"{where} already holds rows ({', '.join(held[:5])}"
            f"{', …' if len(held) > 5 else ''}); add --replace to overwrite it with the copy"
        )
    conn.execute(sql.SQL("TRUNCATE {} RESTART IDENTITY CASCADE").format(names))

    triggered = [
        row[0]
        for row in conn.execute(
            "SELECT DISTINCT c.relname FROM pg_trigger AS t JOIN pg_class AS c ON c.oid = t.tgrelid"
            " WHERE NOT t.tgisinternal AND c.relnamespace = current_schema()::regnamespace"
        )
        if row[0] in tables
    ]
    for table in triggered:
        conn.execute(sql.SQL("ALTER TABLE {} DISABLE TRIGGER USER").format(sql.Identifier(table)))

    copied: list[tuple[str, int]] = []
    for table in tables:
        columns = SEARCH_COLUMNS if table == SEARCH_TABLE else lite_tables[table]
        statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
            sql.Identifier(table), sql.SQL(", ").join(sql.Identifier(c) for c in columns)
        )
        count = 0
        try:
            with conn.cursor().copy(statement) as pipe:
                for row in _source_rows(lite, table, columns, postgres[table], indexer, batch):
                    pipe.write_row(row)
                    count += 1
        except psycopg.Error as exc:
            raise _Refused(f"could not copy {table}: {_first_line(exc)}{_context(exc)}") from exc
        copied.append((table, count))

    for table in triggered:
        conn.execute(sql.SQL("ALTER TABLE {} ENABLE TRIGGER USER").format(sql.Identifier(table)))
    _move_identities(lite, conn, tables)
    _verify_counts(conn, copied)
    _verify_kept(lite, conn, batch)
    unindexed = (
        lite.execute("SELECT count(*) FROM article_search").fetchone()[0]
        - dict(copied)[SEARCH_TABLE]
    )
    return copied, bool(held), int(unindexed)


def _move_identities(
    lite: sqlite3.Connection, conn: psycopg.Connection[Any], tables: Sequence[str]
) -> None:
    """Each identity past the largest id copied, and past the largest SQLite's
    AUTOINCREMENT ever gave (`sqlite_sequence`): ids that only grow must not
    hand out again an id of a row deleted before the copy."""
    given: dict[str, int] = {}
    if lite.execute("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'").fetchone():
        given = {str(name): int(seq) for name, seq in lite.execute("SELECT * FROM sqlite_sequence")}
    for table, column in conn.execute(
        "SELECT table_name, column_name FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND is_identity = 'YES'"
    ).fetchall():
        if table not in tables:
            continue
        row = conn.execute(
            sql.SQL("SELECT coalesce(max({}), 0) FROM {}").format(
                sql.Identifier(column), sql.Identifier(table)
            )
        ).fetchone()
        largest = max(int(row[0]) if row else 0, given.get(table, 0))
        conn.execute(
            "SELECT setval(pg_get_serial_sequence(%s, %s), %s, %s)",
            (table, column, max(largest, 1), largest > 0),
        )


def _verify_counts(conn: psycopg.Connection[Any], copied: Sequence[tuple[str, int]]) -> None:
    for table, count in copied:
        row = conn.execute(
            sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
        ).fetchone()
        found = int(row[0]) if row else 0
        if found != count:
            raise _Refused(f"{table} holds {found} rows after the copy, the source {count}")


def _verify_kept(lite: sqlite3.Connection, conn: psycopg.Connection[Any], batch: int) -> None:
    """The columns triggers keep hold the source's values, row for row."""
    for table, (key, column) in TRIGGER_KEPT.items():
        query = f'SELECT "{key}", "{column}" FROM "{table}" ORDER BY "{key}"'
        theirs = lite.execute(query)
        with conn.cursor(name=f"kept_{table}") as ours:
            ours.itersize = batch
            ours.execute(query)
            for mine, source in zip(ours, _batched(theirs, batch), strict=False):
                if tuple(mine) != tuple(source):
                    raise _Refused(
                        f"{table}.{column} of {source[0]!r} is {mine[1]!r} after the copy,"
                        f" the source's {source[1]!r}"
                    )


def _batched(cursor: sqlite3.Cursor, batch: int) -> Iterator[tuple[Any, ...]]:
    while rows := cursor.fetchmany(batch):
        yield from rows
