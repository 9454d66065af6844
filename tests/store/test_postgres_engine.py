"""The PostgreSQL engine itself: parameters, rows, transactions, budgets, migrations
under a lock, and the one-line errors an operator sees for a wrong DATABASE_URL."""

from __future__ import annotations

import asyncio
import itertools

import psycopg
import pytest

from bot.config import Settings
from bot.store.db import Connection, Database, Migration, OverBudget, StoreError, locate
from bot.store.postgres import MIN_SERVER_VERSION, PostgresDatabase, _translate
from tests.postgres import Server

_numbers = itertools.count(1)

TABLE = Migration(1, "table", "CREATE TABLE notes (id BIGINT PRIMARY KEY, body TEXT);")


def _fresh(postgres: Server) -> str:
    name = f"engine_{next(_numbers)}"
    postgres.psql(f"CREATE DATABASE {name}")
    return postgres.url(name)


def test_sqlite_parameters_become_psycopg_s_and_quoted_text_is_kept() -> None:
    assert _translate("SELECT ? , :name, '50%', x::text", True) == (
        "SELECT %s , %(name)s, '50%%', x::text"
    )
    assert _translate("SELECT 'a ? b :c' WHERE x LIKE '%?'", True) == (
        "SELECT 'a ? b :c' WHERE x LIKE '%%?'"
    )
    assert _translate("SELECT '50%'", False) == "SELECT '50%'"


async def test_statements_rows_and_transactions(postgres: Server) -> None:
    db = await Database.open(_fresh(postgres), migrations=[TABLE])
    try:
        assert db.dialect == "postgresql"
        async with db.transaction() as tx:
            added = await tx.execute(
                "INSERT INTO notes VALUES (:id, :body) ON CONFLICT DO NOTHING",
                {"id": 1, "body": "50% off"},
            )
            assert added.rowcount == 1
            await tx.executemany("INSERT INTO notes VALUES (?, ?)", [(2, "b"), (3, None)])
            again = await tx.execute("INSERT INTO notes VALUES (1, 'x') ON CONFLICT DO NOTHING")
            assert again.rowcount == 0
        row = await db.fetchone("SELECT id, body FROM notes WHERE body LIKE '%off'")
        assert row is not None
        assert (row["id"], row[1], row.keys()) == (1, "50% off", ["id", "body"])
        assert await db.fetchval("SELECT count(*) FROM notes WHERE ? IS NULL", (None,)) == 3

        with pytest.raises(ValueError, match="changed my mind"):
            await _insert_then_fail(db)
        assert await db.fetchval("SELECT count(*) FROM notes WHERE id = 4") == 0

        def work(conn: Connection) -> int:
            conn.execute("UPDATE notes SET body = 'two' WHERE id = ?", (2,))
            return int(conn.execute("SELECT count(*) FROM notes").fetchone()[0])

        assert await db.write(work) == 3
        assert await db.fetchval("SELECT body FROM notes WHERE id = 2") == "two"
    finally:
        await db.close()


async def _insert_then_fail(db: Database) -> None:
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO notes VALUES (4, 'lost')")
        raise ValueError("changed my mind")


async def test_reads_run_side_by_side_not_queued_behind_one_another(
    postgres: Server,
) -> None:
    """A read held up at the server (here on a lock the test holds) leaves others to
    go on at once: with one reader connection every search queued behind the one
    before. The timeout guards against a hang; nothing is timed."""
    url = _fresh(postgres)
    db = await Database.open(url, migrations=[TABLE])
    holder = psycopg.connect(url, autocommit=True)
    try:
        holder.execute("SELECT pg_advisory_lock(4242)")
        held = asyncio.create_task(db.fetchval("SELECT pg_advisory_lock(4242)"))
        waiting = "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
        async with asyncio.timeout(30):
            while await db.fetchval(waiting) == 0:  # noqa: ASYNC110 - no event to wait on
                await asyncio.sleep(0.01)
        for n in range(5):
            assert await asyncio.wait_for(db.fetchval("SELECT ?", (n,)), 30) == n
        assert not held.done()
        holder.execute("SELECT pg_advisory_unlock(4242)")
        await asyncio.wait_for(held, 30)
    finally:
        holder.close()
        await db.close()


async def test_a_bool_is_written_as_the_0_or_1_flag_sqlite_stores(postgres: Server) -> None:
    flags = Migration(1, "flags", "CREATE TABLE flags (on_ SMALLINT, off BIGINT);")
    db = await Database.open(_fresh(postgres), migrations=[flags])
    try:
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO flags VALUES (?, ?)", (True, False))
            await tx.executemany("INSERT INTO flags VALUES (:on, :off)", [{"on": 1, "off": False}])
        rows = await db.fetchall("SELECT on_, off FROM flags")
        assert [tuple(row) for row in rows] == [(1, 0), (1, 0)]
    finally:
        await db.close()


async def test_a_read_past_its_budget_stops_and_the_reader_goes_on(postgres: Server) -> None:
    db = await Database.open(_fresh(postgres), migrations=[TABLE])
    try:
        with pytest.raises(OverBudget):
            await db.fetchval("SELECT pg_sleep(30)", budget=0.05)
        assert await db.fetchval("SELECT 1", budget=5) == 1
        assert await db.fetchval("SELECT current_setting('statement_timeout')") == "0"
    finally:
        await db.close()


async def test_replicas_starting_together_migrate_once(postgres: Server) -> None:
    url = _fresh(postgres)
    slow = Migration(2, "slow", "SELECT pg_sleep(0.3); CREATE TABLE later (id BIGINT);")
    opened = await asyncio.gather(*(Database.open(url, migrations=[TABLE, slow]) for _ in range(3)))
    try:
        assert all([await db.schema_version() == 2 for db in opened])
        applied = await opened[0].fetchval("SELECT count(*) FROM schema_migrations")
        assert applied == 2
    finally:
        for db in opened:
            await db.close()


async def test_a_newer_store_is_refused_in_one_line(postgres: Server) -> None:
    url = _fresh(postgres)
    await (await Database.open(url, migrations=[TABLE])).close()
    with pytest.raises(StoreError, match=r"schema version 1, newer than this program knows \(0\)"):
        await Database.open(url, migrations=[])


async def test_a_failed_migration_leaves_no_trace(postgres: Server) -> None:
    url = _fresh(postgres)
    broken = Migration(2, "broken", "CREATE TABLE half (id BIGINT); SELECT * FROM missing;")
    with pytest.raises(Exception, match="missing"):
        await Database.open(url, migrations=[TABLE, broken])
    db = await Database.open(url, migrations=[TABLE])
    try:
        assert await db.schema_version() == 1
        assert await db.fetchval("SELECT to_regclass('half')") is None
    finally:
        await db.close()


async def test_the_bundled_schema_applies_and_reads_as_the_newest_version(
    postgres: Server,
) -> None:
    db = await Database.open(_fresh(postgres))
    try:
        assert isinstance(db, PostgresDatabase)
        assert await db.schema_version() >= 24
        await db.check_writable()
    finally:
        await db.close()


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("mysql://bot@localhost/bot", r"must be postgresql://.* not mysql://"),
        ("postgresql://bot@localhost:5432/", "names no database"),
        ("postgresql://bot@localhost:port/bot", "not a valid PostgreSQL URL"),
    ],
)
def test_a_wrong_url_is_one_line(url: str, says: str) -> None:
    with pytest.raises(StoreError, match=says) as raised:
        locate(url)
    assert "\n" not in str(raised.value)


def test_a_wrong_url_is_refused_by_the_settings_without_echoing_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", "mysql://bot:s3cret@db/bot")
    with pytest.raises(ValueError, match="DATABASE_URL must be") as raised:
        Settings(_env_file=None)  # type: ignore[call-arg]
    assert "s3cret" not in str(raised.value)


async def test_an_unreachable_server_and_a_missing_database_are_one_line(
    postgres: Server,
) -> None:
    for url, says in [
        ("postgresql://bot:s3cret@127.0.0.1:1/bot", "Connection refused"),
        (postgres.url("no_such_database"), 'database "no_such_database" does not exist'),
    ]:
        with pytest.raises(StoreError, match=says) as raised:
            await Database.open(url)
        assert "\n" not in str(raised.value)
        assert "s3cret" not in str(raised.value)


def test_the_location_never_shows_the_password() -> None:
    where = locate("postgresql://bot:s3cret@db.example:6432/news")
    assert str(where) == "postgresql://bot@db.example:6432/news"


async def test_a_server_older_than_supported_is_one_line(
    postgres: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The test server is the oldest supported (15): raising the floor past it shows
    what an operator on an older server reads."""
    assert MIN_SERVER_VERSION == 150000
    monkeypatch.setattr("bot.store.postgres.MIN_SERVER_VERSION", 990000)
    with pytest.raises(StoreError, match=r"is version 15\.\d+; this bot needs 99\.0 or newer"):
        await Database.open(_fresh(postgres))
