"""`python -m bot store copy --from sqlite:///… --to postgresql://…`: a SQLite store
with something in every table arrives whole in PostgreSQL, row for row, and a
copy that fails, or that would overwrite another store, leaves the target as it was."""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import socket
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from bot.config import Settings
from bot.runtime import open_content
from bot.store import admin, broadcasts, chats, feeds, outbox, relay, subscriptions
from bot.store.db import Database, bundled_migrations
from bot.store.lock import InstanceLock
from bot.store.outbox import NewMessage
from bot.text import index_columns
from tests.cli.test_cli import run
from tests.postgres import Server

NOW = 1_760_000_000
SKIPPED = {"schema_migrations"}  # each engine's own record of its migrations
SEARCH_WORDS = ("migrant", "capitalismo", "juarez", "mexico")

_numbers = itertools.count(1)


@pytest.fixture
def empty_database(postgres: Server) -> str:
    """A new PostgreSQL database with nothing in it, not even the schema."""
    name = f"copy_{next(_numbers)}"
    postgres.psql(f"CREATE DATABASE {name}")
    return postgres.url(name)


@pytest.fixture(scope="module")
def migrated(postgres: Server) -> str:
    """A database the bot has migrated, as a template for `target`."""
    name = f"copy_template_{next(_numbers)}"
    postgres.psql(f"CREATE DATABASE {name}")
    asyncio.run(_migrate(postgres.url(name)))
    return name


@pytest.fixture
def target(postgres: Server, migrated: str) -> str:
    """A migrated PostgreSQL database with no rows, as a bot leaves a new one."""
    name = f"copy_{next(_numbers)}"
    postgres.psql(f"CREATE DATABASE {name} TEMPLATE {migrated}")
    return postgres.url(name)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The SQLite store a bot leaves: the sample listing ingested as at start-up,
    then chats, targets, subscriptions, feeds, queued messages, a broadcast and
    the admin's log through the store's own functions, and the few tables
    only the bot's jobs fill by direct statements. Made once; each test copies it."""
    path = tmp_path_factory.mktemp("copy") / "bot.sqlite3"
    with pytest.MonkeyPatch.context() as env:
        env.delenv("DATABASE_URL", raising=False)
        env.setenv("DATABASE_PATH", str(path))
        settings = Settings(_env_file=None)  # type: ignore[call-arg]

        async def build() -> None:
            await (await open_content(settings)).db.close()  # the sample, as at start-up
            await _populate(path)

        asyncio.run(build())
    return path


@pytest.fixture
def source(built: Path, settings: Settings) -> Path:
    """A copy of `built` of the test's own, where `settings` put the database."""
    with sqlite3.connect(built) as original, sqlite3.connect(settings.database_path) as copy:
        original.backup(copy)
    return settings.database_path


async def _populate(path: Path) -> None:
    db = await Database.open(path)
    try:
        await feeds.sync_config(
            db,
            [feeds.FeedConfig("https://example.org/feed.xml", "Example", language="es")],
            now=NOW,
        )
        await feeds.add_feed(db, "https://example.com/rss", now=NOW, added_by=7)
        forum = await chats.create_target(
            db,
            chats.NewTarget(-1002, 5, "es", "America/Mexico_City"),
            next_digest_at=NOW + 3_600,
            now=NOW,
            chat=chats.SeenChat(-1002, "supergroup", "Un foro", is_forum=True),
        )
        person = await chats.create_target(
            db,
            chats.NewTarget(101, 0, "en", "UTC", digest_mode="instant"),
            next_digest_at=None,
            now=NOW,
            chat=chats.SeenChat(101, "private", None, username="ana"),
        )
        await subscriptions.add(db, forum.id, "topic", "migration", NOW)
        await subscriptions.add(db, forum.id, "topic", "history", NOW)
        await subscriptions.add(db, forum.id, "query", 'ciudad "juarez"', NOW)
        await subscriptions.add(db, person.id, "query", "back\\slash\tand ñ", NOW)
        page = outbox.SharedPart.text(outbox.encode_text("A page for many"))
        await outbox.enqueue(
            db,
            [
                NewMessage.text(chat, "A page for many", kind="digest", shared=page, target_id=t)
                for chat, t in ((101, person.id), (-1002, forum.id))
            ],
            now=NOW,
        )
        await outbox.enqueue(
            db,
            [NewMessage(101, "notice", "sendMessage", {"text": "hi"}, not_before=NOW + 0.25)],
            now=NOW,
        )
        draft = await broadcasts.create_draft(
            db,
            admin_id=7,
            admin_chat_id=101,
            audience="all",
            method="sendMessage",
            params={"text": "Hola a todos"},
            now=NOW,
        )
        await broadcasts.confirm(db, draft.id, broadcasts.Recipients(), admin_id=7, now=NOW)
        await broadcasts.note_pause(db, draft.id, now=NOW + 1.5, until=NOW + 2.75)
        await admin.audit(db, 7, "feed_add", detail="line one\nline two \\ \t ✓", now=NOW)
        # A follower's message the leader had not answered when the bots stopped.
        await relay.ask(
            db,
            method="sendMessage",
            params='{"chat_id":101,"text":"Más tarde"}',
            kind="reply",
            reply_to="relay_0123456789abcdef",
            now=NOW + 0.5,
            expires_at=NOW + 30.5,
        )
        first, second, third = [
            row[0] for row in await db.fetchall("SELECT id FROM articles ORDER BY id LIMIT 3")
        ]
        async with db.transaction() as tx:
            await tx.execute(
                "INSERT INTO outbox_daily (day, kind, state, count)"
                " VALUES (?, 'digest', 'sent', 4)",
                (NOW - NOW % 86_400,),
            )
            await tx.execute("INSERT INTO search_reindex (id, done_id, upto_id) VALUES (1, 0, 0)")
            await tx.execute(
                "INSERT INTO translation_vetoes (low_id, high_id, at) VALUES (?, ?, ?)",
                (first, third, NOW),
            )
            await tx.execute(
                "INSERT INTO translation_claims (article_id, kind, value) VALUES (?, 'url', ?)",
                (second, "https://example.org/elsewhere"),
            )
            await tx.execute(
                "INSERT INTO article_content (article_id, html, truncated) VALUES (?, ?, 1)",
                (first, "<p>The whole\ttext</p>"),
            )
            await tx.execute(
                "INSERT INTO subscriptions_to_check (subscription_id)"
                " SELECT max(id) FROM subscriptions"
            )
            # The newest queued message is gone: its id must not be handed out again.
            await tx.execute("DELETE FROM outbox WHERE id = (SELECT max(id) FROM outbox)")
    finally:
        await db.close()


def _tables(path: Path) -> list[str]:
    with sqlite3.connect(path) as conn:
        names = [
            row[0]
            for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if not row[0].startswith(("sqlite_", "article_search_"))
        ]
    return sorted(set(names) - SKIPPED)


def _columns(path: Path, table: str) -> list[str]:
    with sqlite3.connect(path) as conn:
        return [row[1] for row in conn.execute(f'PRAGMA table_info("{table}")')]


def _normal(value: Any) -> Any:
    """Values as compared: only the type of a 0/1 flag may differ."""
    return int(value) if isinstance(value, bool) else value


def _sorted(rows: Iterator[Any]) -> list[tuple[Any, ...]]:
    return sorted((tuple(_normal(v) for v in row) for row in rows), key=repr)


def _sqlite_rows(path: Path, table: str) -> list[tuple[Any, ...]]:
    if table == "article_search":  # contentless: it gives back ids only
        query = "SELECT rowid FROM article_search"
    else:
        query = f'SELECT {", ".join(_columns(path, table))} FROM "{table}"'
    with sqlite3.connect(path) as conn:
        return _sorted(conn.execute(query))


def _postgres_rows(url: str, path: Path, table: str) -> list[tuple[Any, ...]]:
    columns = ["rowid"] if table == "article_search" else _columns(path, table)
    with psycopg.connect(url) as conn:
        return _sorted(iter(conn.execute(f'SELECT {", ".join(columns)} FROM "{table}"')))


def _everything(url: str, path: Path) -> dict[str, list[tuple[Any, ...]]]:
    return {table: _postgres_rows(url, path, table) for table in _tables(path)}


def _copy(capsys: pytest.CaptureFixture[str], source: Path, url: str, *extra: str) -> Any:
    return run(capsys, "store", "copy", "--from", f"sqlite:///{source}", "--to", url, *extra)


def test_a_copy_holds_every_row_of_every_table(
    source: Path, empty_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    tables = _tables(source)
    empty = [table for table in tables if not _sqlite_rows(source, table)]
    assert empty == [], "the source has something in every table"

    code, out, err = _copy(capsys, source, empty_database)

    assert (code, err) == (0, "")
    *listed, last = out.splitlines()
    assert sorted(line.split()[0] for line in listed) == tables
    counts = {line.split()[0]: int(line.split()[1]) for line in listed}
    match = re.fullmatch(r"copied (\d+) rows in [0-9.]+ s; counts verified", last)
    assert match is not None, last
    assert int(match[1]) == sum(counts.values())
    for table in tables:
        expected = _sqlite_rows(source, table)
        assert _postgres_rows(empty_database, source, table) == expected, table
        assert counts[table] == len(expected), table


def test_the_copied_index_finds_what_the_source_finds(
    source: Path, target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each engine's own search of a word gives the same articles. (The store's
    search functions are not ported to PostgreSQL yet: each engine's MATCH is
    written out here.)"""
    assert _copy(capsys, source, target)[0] == 0
    with sqlite3.connect(source) as lite, psycopg.connect(target) as conn:
        for word in SEARCH_WORDS:
            found = {
                row[0]
                for row in lite.execute(
                    "SELECT rowid FROM article_search WHERE article_search MATCH ?", (word,)
                )
            }
            assert found, f"the sample has {word!r}"
            copied = {
                row[0]
                for row in conn.execute(
                    "SELECT rowid FROM article_search WHERE document @@ to_tsquery('simple', %s)",
                    (word,),
                )
            }
            assert copied == found, word
        texts = conn.execute(
            "SELECT s.rowid, s.title_en, s.title_es, s.summary_en, s.summary_es, s.language,"
            " a.title, a.summary, a.language FROM article_search AS s"
            " JOIN articles AS a ON a.id = s.rowid"
        ).fetchall()
    assert texts
    for _, *index, title, summary, language in texts:
        assert tuple(index) == (*index_columns(title, summary), f"_{language}")


def test_ids_go_on_past_those_the_source_gave(
    source: Path, target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with sqlite3.connect(source) as lite:
        given = dict(lite.execute("SELECT name, seq FROM sqlite_sequence").fetchall())
        # Not AUTOINCREMENT: SQLite goes on from the largest id there is.
        largest = {"targets": lite.execute("SELECT max(id) FROM targets").fetchone()[0]}
    assert given["outbox"] > max(row[0] for row in _sqlite_rows(source, "outbox"))
    assert _copy(capsys, source, target)[0] == 0
    with psycopg.connect(target) as conn:
        for table, last in (*given.items(), *largest.items()):
            following = conn.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, 'id'))", (table,)
            ).fetchone()
            assert following == (last + 1,), table


def test_a_target_with_rows_is_replaced_only_when_asked(
    source: Path, target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _copy(capsys, source, target)[0] == 0
    copied = _everything(target, source)

    code, out, err = _copy(capsys, source, target)
    assert (code, out) == (1, "")
    assert re.fullmatch(r"error: \S+ already holds rows \(.*\); add --replace .*\n", err), err
    assert _everything(target, source) == copied

    code, out, err = _copy(capsys, source, target, "--replace", "--json")
    assert (code, err) == (0, "")
    report = json.loads(out)
    assert report["replaced"] is True
    assert report["verified"] is True
    assert report["rows"] == sum(report["tables"].values()) == sum(map(len, copied.values()))
    assert _everything(target, source) == copied


@pytest.mark.parametrize(
    ("table", "change", "says"),
    [
        # Refused by the server midway, after the tables before outbox were copied.
        ("outbox", "UPDATE outbox SET attempts = 'many' WHERE id = 2", 'bigint: "many"'),
        # Refused by the driver: PostgreSQL text cannot hold NUL.
        ("chats", "UPDATE chats SET title = 'a' || char(0) || 'b'", "NUL"),
    ],
)
def test_a_failed_copy_leaves_the_target_as_it_was(
    source: Path,
    target: str,
    capsys: pytest.CaptureFixture[str],
    table: str,
    change: str,
    says: str,
) -> None:
    assert _copy(capsys, source, target)[0] == 0
    copied = _everything(target, source)
    with sqlite3.connect(source) as lite:
        lite.execute("INSERT INTO audit_log (admin_id, action, at) VALUES (8, 'later', 1)")
        assert lite.execute(change).rowcount >= 1

    code, out, err = _copy(capsys, source, target, "--replace")

    assert (code, out) == (1, "")
    assert err.startswith(f"error: could not copy {table}: "), err
    assert says in err
    assert "nothing was changed" in err
    assert err.count("\n") == 1
    assert "Traceback" not in err
    assert _everything(target, source) == copied


def test_an_older_source_is_migrated_first_and_says_so(
    settings: Settings, target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = settings.database_path

    async def older() -> None:
        db = await Database.open(path, [m for m in bundled_migrations() if m.version <= 5])
        try:
            async with db.transaction() as tx:
                await tx.execute(
                    "INSERT INTO articles (source, title, language, published_at, fetched_at,"
                    " content_hash) VALUES ('old.txt', 'Old', 'en', 0, 0, 'h1')"
                )
        finally:
            await db.close()

    asyncio.run(older())
    code, out, err = _copy(capsys, path, target)
    assert (code, err) == (0, "")
    latest = bundled_migrations()[-1].version
    assert out.splitlines()[0] == (
        f"{path} was at schema version 5; migrated to {latest} before the copy"
    )
    assert _postgres_rows(target, path, "articles") == _sqlite_rows(path, "articles")


def test_refusals_are_one_line(
    source: Path,
    target: str,
    postgres: Server,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
) -> None:
    unreachable = f"postgresql://bot@127.0.0.1:{_closed_port()}/db"
    cases = [
        (tmp_path / "none.sqlite3", target, "there is no database at"),
        (source, "mysql://bot@127.0.0.1/db", "the target must be a PostgreSQL URL"),
        (source, "postgresql://bot@127.0.0.1:port/db", "the target is not a valid"),
        (source, unreachable, "Connection refused"),
    ]
    for origin, to, says in cases:
        code, out, err = _copy(capsys, origin, to)
        assert (code, out) == (1, ""), to
        assert err.startswith("error: "), err
        assert says in err, err
        assert err.count("\n") == 1
        assert "Traceback" not in err

    lock = InstanceLock.acquire(source)  # as a running bot holds it
    try:
        code, _, err = _copy(capsys, source, target)
    finally:
        lock.release()
    assert code == 1
    assert "another bot is already running" in err, err

    with psycopg.connect(target, application_name="digestbot"):
        code, _, err = _copy(capsys, source, target)
    assert code == 1
    assert "running bot are open" in err, err

    postgres.psql("CREATE TABLE extra (id bigint)", target.rsplit("/", 1)[1])
    code, _, err = _copy(capsys, source, target)
    assert code == 1
    assert err == (
        "error: the stores' tables differ: only in SQLite: none; only in PostgreSQL: extra\n"
    )


def _closed_port() -> int:
    """A port on this machine nothing listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def _migrate(url: str) -> None:
    await (await Database.open(url)).close()
