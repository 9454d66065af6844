from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path

import pytest

from bot.store import topics
from bot.store.db import Connection, Database, Migration, StoreError, bundled_migrations
from bot.store.sqlite import SQLiteDatabase


async def test_new_database_gets_every_migration(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "new.sqlite3")
    try:
        assert await db.schema_version() == bundled_migrations()[-1].version
        mode = await db.fetchval("PRAGMA journal_mode")
        assert mode == "wal"
        assert await db.fetchval("PRAGMA foreign_keys") == 1
    finally:
        await db.close()


async def test_older_database_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    first, *later = bundled_migrations()
    db = await Database.open(path, migrations=[first])
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO topics (slug, name_en, name_es) VALUES ('x', 'X', 'X')")
    await db.close()
    assert later, "there should be migrations after the first"

    db = await Database.open(path)
    try:
        assert await db.schema_version() == later[-1].version
        assert await db.fetchval("SELECT name_en FROM topics WHERE slug = 'x'") == "X"
        applied = await db.fetchall("SELECT version FROM schema_migrations ORDER BY version")
        assert [row[0] for row in applied] == [m.version for m in bundled_migrations()]
    finally:
        await db.close()


async def test_failed_migration_leaves_no_trace(tmp_path: Path) -> None:
    path = tmp_path / "broken.sqlite3"
    good = Migration(1, "good", "CREATE TABLE kept (x INTEGER);")
    bad = Migration(2, "bad", "CREATE TABLE half (x INTEGER);\nINSERT INTO missing VALUES (1);")
    db = await Database.open(path, migrations=[good])
    with pytest.raises(sqlite3.OperationalError):
        await db.migrate([good, bad])
    try:
        assert await db.schema_version() == 1
        tables = {row[0] for row in await db.fetchall("SELECT name FROM sqlite_master")}
        assert "kept" in tables
        assert "half" not in tables
    finally:
        await db.close()


async def _insert_then_fail(db: Database) -> None:
    async with db.transaction() as tx:
        await tx.execute("INSERT INTO topics (slug, name_en, name_es) VALUES ('a', 'A', 'A')")
        raise RuntimeError("boom")


async def test_transaction_rolls_back_on_error(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "tx.sqlite3")
    try:
        with pytest.raises(RuntimeError):
            await _insert_then_fail(db)
        assert await db.fetchval("SELECT count(*) FROM topics") == 0
    finally:
        await db.close()


async def test_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "junk.sqlite3"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StoreError, match="not a usable SQLite database"):
        await Database.open(path)


async def test_backup_is_a_consistent_copy(tmp_path: Path) -> None:
    db = await SQLiteDatabase.connect(tmp_path / "live.sqlite3")
    try:
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO topics (slug, name_en, name_es) VALUES ('b', 'B', 'B')")
        await db.backup(tmp_path / "copy.sqlite3")
    finally:
        await db.close()
    copy = await Database.open(tmp_path / "copy.sqlite3")
    try:
        assert await copy.fetchval("SELECT name_en FROM topics") == "B"
    finally:
        await copy.close()


async def test_topic_counts_follow_the_tags(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "counts.sqlite3")
    try:
        async with db.transaction() as tx:
            await tx.execute("INSERT INTO topics (slug, name_en, name_es) VALUES ('t', 'T', 'T')")
            await tx.execute(
                "INSERT INTO articles (source, title, language, published_at, fetched_at,"
                " content_hash) VALUES ('s', 'a', 'en', 0, 0, 'h1'), ('s', 'b', 'en', 0, 0, 'h2')"
            )
            await tx.execute("INSERT INTO article_topics VALUES (1, 't'), (2, 't')")
            await tx.execute("INSERT OR IGNORE INTO article_topics VALUES (1, 't')")
        assert await db.fetchval("SELECT articles FROM topics WHERE slug = 't'") == 2
        async with db.transaction() as tx:
            await tx.execute("DELETE FROM article_topics WHERE article_id = 1")
        assert await db.fetchval("SELECT articles FROM topics WHERE slug = 't'") == 1
    finally:
        await db.close()


async def test_reads_queue_at_the_reader_without_waiting_for_the_event_loop(
    sqlite_db: SQLiteDatabase,
) -> None:
    """Reads from many tasks, with a time budget and without, go to the reader's
    thread at once and run back to back there while the event loop is held: a read
    that needs the loop between its steps (or reads that take turns on it) leaves
    the reader idle whenever the loop is busy with other updates, which is when
    reads pile up.

    The loop is blocked on an event that only the last read sets; the wait's
    timeout is a guard against hanging, not a measurement."""
    reads = 20
    db = sqlite_db
    ran: list[int] = []
    all_ran = threading.Event()

    def mark(number: int) -> int:  # on the reader's thread
        ran.append(number)
        if len(ran) == reads:
            all_ran.set()
        return number

    await db._reader.create_function("mark", 1, mark)
    tasks = [
        asyncio.create_task(db.fetchval("SELECT mark(?)", (n,), budget=60 if n % 2 else None))
        for n in range(reads)
    ]
    await asyncio.sleep(0)  # each task runs until it waits for the reader
    finished_while_blocked = all_ran.wait(timeout=10)  # blocks the event loop
    assert await asyncio.gather(*tasks) == list(range(reads))
    assert finished_while_blocked
    assert ran == list(range(reads))  # in the order asked


def _counting_steps(path: Path, sql: str) -> int:
    """SQLite virtual-machine steps (in hundreds) one statement takes: work, not time."""
    steps = 0

    def step() -> int:
        nonlocal steps
        steps += 1
        return 0

    conn = sqlite3.connect(path)
    try:
        conn.set_progress_handler(step, 100)
        conn.execute(sql).fetchall()
    finally:
        conn.close()
    return steps


async def test_topic_counts_cost_nothing_more_for_unpaired_articles(tmp_path: Path) -> None:
    """/topics reads the maintained counts; what it takes off for translations
    pairs counted once costs with the pairs, never with the archive (a scan of a
    topic's articles made /topics 100 ms at a million articles)."""
    found = []
    for n in (30, 3_000):
        path = tmp_path / f"counts-{n}.sqlite3"
        db = await Database.open(path)
        try:
            async with db.transaction() as tx:
                await tx.execute(
                    "INSERT INTO topics (slug, name_en, name_es) VALUES ('t', 'T', 'T')"
                )
                await tx.executemany(
                    "INSERT INTO articles (source, title, language, published_at, fetched_at,"
                    " content_hash) VALUES ('s', ?, 'en', 0, 0, ?)",
                    [(f"a{i}", f"h{i}") for i in range(n)],
                )
                await tx.execute("INSERT INTO article_topics SELECT id, 't' FROM articles")
            assert [c.articles for c in await topics.counts(db)] == [n]
        finally:
            await db.close()
        found.append(_counting_steps(path, topics.COUNTS_SQL))
    assert found[1] <= found[0] + 5, found


async def test_a_commit_leaves_copying_the_log_to_the_checkpointer(tmp_path: Path) -> None:
    # SQLite's automatic checkpoint would copy these 8 MB into the database
    # file inside the COMMIT, making whichever write came then wait for it.
    path = tmp_path / "log.sqlite3"
    db = await SQLiteDatabase.connect(path)
    try:
        before = path.stat().st_size

        def fill(conn: Connection) -> None:
            conn.execute("CREATE TABLE filler (blob BLOB)")
            conn.executemany("INSERT INTO filler VALUES (zeroblob(1024))", [()] * 8_192)

        await db.write(fill)
        assert path.stat().st_size - before < 1_000_000  # still in the log
        await db.checkpointed()
        assert path.stat().st_size - before > 8_000_000  # copied, off the writer's thread
        assert await db.fetchval("SELECT count(*) FROM filler") == 8_192
    finally:
        await db.close()


async def test_writes_that_never_pause_keep_the_log_bounded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The log restarts only at a write that finds all of it copied, which a
    checkpoint on another connection never leaves behind while writes keep
    coming: the writer's own commit copies the rest once the log is past its
    bound. The checkpointer is kept away here, as it is by writes that never
    pause; without the bound these 4 MB all stay in the log."""
    monkeypatch.setattr("bot.store.sqlite.LOG_BACKSTOP_PAGES", 200)
    monkeypatch.setattr("bot.store.sqlite.CHECKPOINT_DELAY", 3600.0)
    path = tmp_path / "busy.sqlite3"
    db = await SQLiteDatabase.connect(path)
    log = path.with_name(path.name + "-wal")
    try:

        def one(conn: Connection) -> None:
            conn.executemany("INSERT INTO filler VALUES (zeroblob(1024))", [()] * 40)

        await db.write(lambda conn: conn.execute("CREATE TABLE filler (blob BLOB)"))
        largest = 0
        for _ in range(100):
            await db.write(one)
            largest = max(largest, log.stat().st_size)
        assert await db.fetchval("SELECT count(*) FROM filler") == 4_000
        assert largest < 1_500_000, f"the log reached {largest:,} bytes"
    finally:
        await db.close()
