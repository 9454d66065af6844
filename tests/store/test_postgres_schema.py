"""The PostgreSQL schema (`bot/store/migrations/postgresql/0024_schema.sql` and the
migrations after it) held against a SQLite store at the same version, which it
must equal: the same names and columns, triggers that leave the very same rows
(the subscription key to the byte), and a full-text index PostgreSQL answers from
its GIN index."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator, Sequence
from importlib import resources
from pathlib import Path
from typing import Any
from uuid import uuid4

import psycopg
import pytest

from bot.store.db import Database, bundled_migrations
from tests.postgres import Server

SCHEMA = resources.files("bot.store") / "migrations" / "postgresql" / "0024_schema.sql"
LATER = [m for m in bundled_migrations("postgresql") if m.version > 24]

Connection = psycopg.Connection[tuple[Any, ...]]

# The FTS5 table's columns; PostgreSQL's table adds the article id before them
# (FTS5's hidden rowid) and the tsvector after.
FTS_COLUMNS = ["title_en", "title_es", "summary_en", "summary_es", "language"]

# 0/1 flags, SMALLINT so that sum() of one is a bigint; every other integer is BIGINT.
FLAGS = {
    ("feeds", "failure_reported"),
    ("articles", "dated"),
    ("articles", "backfill"),
    ("chats", "is_forum"),
    ("chats", "active"),
    ("targets", "active"),
    ("targets", "link_previews"),
    ("broadcasts", "paid"),
    ("article_content", "truncated"),
}


@pytest.fixture
def pg(postgres: Server) -> Iterator[Connection]:
    """A new database holding the schema and the migrations after it, applied as
    the engine applies them: each file whole as one script, in one transaction."""
    name = f"schema_{uuid4().hex[:12]}"
    postgres.psql(f"CREATE DATABASE {name}")
    try:
        with psycopg.connect(postgres.url(name), autocommit=True) as conn:
            with conn.transaction():
                conn.execute(SCHEMA.read_text("utf-8"))
            for migration in LATER:
                with conn.transaction():
                    conn.execute(migration.sql.encode())
            yield conn
    finally:
        postgres.psql(f"DROP DATABASE {name} WITH (FORCE)")


@pytest.fixture
async def lite(tmp_path: Path) -> AsyncIterator[Database]:
    """The reference: a SQLite store, migrated to the newest version."""
    database = await Database.open(tmp_path / "reference.sqlite3")
    try:
        yield database
    finally:
        await database.close()


def pg_rows(conn: Connection, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    return conn.execute(sql, params).fetchall()


async def sqlite_rows(db: Database, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
    return [tuple(row) for row in await db.fetchall(sql, params)]


async def test_every_table_view_index_and_trigger_has_its_match(
    lite: Database, pg: Connection
) -> None:
    objects = await sqlite_rows(
        lite,
        "SELECT type, name, tbl_name FROM sqlite_master"
        " WHERE name NOT LIKE 'sqlite\\_%' ESCAPE '\\'"  # SQLite's own, and its constraint indexes
        " AND name NOT LIKE 'article\\_search\\_%' ESCAPE '\\'"  # FTS5's shadow tables
        " AND name != 'schema_migrations'",  # the engine's, made before any migration
    )
    pg_objects = pg_rows(
        pg,
        """
        SELECT CASE table_type WHEN 'VIEW' THEN 'view' ELSE 'table' END, table_name, table_name
        FROM information_schema.tables WHERE table_schema = 'public'
        UNION ALL
        SELECT 'index', indexname, tablename FROM pg_indexes WHERE schemaname = 'public'
        UNION ALL
        SELECT 'trigger', tgname, tgrelid::regclass::text FROM pg_trigger WHERE NOT tgisinternal
        """,
    )
    constraint_indexes = {
        ("index", name, table)
        for name, table in pg_rows(
            pg,
            "SELECT conindid::regclass::text, conrelid::regclass::text FROM pg_constraint"
            " WHERE contype IN ('p', 'u') AND connamespace = 'public'::regnamespace",
        )
    }
    assert set(pg_objects) == set(objects) | constraint_indexes | {
        ("index", "article_search_document", "article_search")
    }

    for kind, name, _ in objects:
        if kind not in ("table", "view"):
            continue
        columns = await sqlite_rows(
            lite,
            'SELECT name, type, "notnull" OR pk > 0 FROM pragma_table_info(?) ORDER BY cid',
            (name,),
        )
        pg_columns = pg_rows(
            pg,
            "SELECT column_name, data_type, is_nullable = 'NO', collation_name"
            " FROM information_schema.columns WHERE table_schema = 'public' AND table_name = %s"
            " ORDER BY ordinal_position",
            (name,),
        )
        names = [column[0] for column in pg_columns]
        if name == "article_search":
            assert names == ["rowid", *FTS_COLUMNS, "document"]
            continue
        assert names == [column[0] for column in columns], name
        if kind == "view":
            continue
        for (column, declared, not_null), (_, pg_type, pg_not_null, collation) in zip(
            columns, pg_columns, strict=True
        ):
            where = f"{name}.{column}"
            assert pg_not_null == bool(not_null), where
            if declared == "INTEGER":
                assert pg_type == ("smallint" if (name, column) in FLAGS else "bigint"), where
            elif declared == "REAL":
                assert pg_type == "double precision", where
            else:
                assert (declared, pg_type, collation) == ("TEXT", "text", "C"), where

    for kind, name, table in objects:
        if kind != "index":
            continue
        [(unique, partial)] = await sqlite_rows(
            lite, 'SELECT "unique", partial FROM pragma_index_list(?) WHERE name = ?', (table, name)
        )
        keys = await sqlite_rows(
            lite, "SELECT name FROM pragma_index_info(?) ORDER BY seqno", (name,)
        )
        [(pg_unique, pg_partial, pg_keys)] = pg_rows(
            pg,
            """
            SELECT i.indisunique, i.indpred IS NOT NULL, array(
                SELECT a.attname FROM unnest(i.indkey::int2[]) WITH ORDINALITY AS k (attnum, n)
                LEFT JOIN pg_attribute AS a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
                ORDER BY k.n)
            FROM pg_index AS i WHERE i.indexrelid = %s::regclass
            """,
            (name,),
        )
        assert (pg_unique, pg_partial, pg_keys) == (
            bool(unique),
            bool(partial),
            [k for (k,) in keys],
        ), name


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# Values whose JSON text is easy to get wrong: escapes, control characters, text
# beyond ASCII, and an order of bytes no natural-language collation keeps.
TOPICS = ["migration", "Zeta", "économie", "a_b", "ab", "a-b"]
QUERIES = [
    "solar power",
    'say "hi" \\ back',
    "tab\there, new\nline",
    "bell\x01 unit\x1f del\x7f",
    "🌍 juárez ñandú",
    "line\u2028separator",
]

ADD_QUERIES = "INSERT INTO subscriptions (target_id, kind, value, created_at) VALUES " + ", ".join(
    f"(1, 'query', {literal(text)}, 2)" for text in QUERIES
)

KEYED = [
    "INSERT INTO chats (chat_id, type, created_at, updated_at) VALUES"
    " (-1001700000000001, 'supergroup', 1700000000, 1700000000),"
    " (5000000001, 'private', 1700000000, 1700000000)",
    "INSERT INTO targets (chat_id, thread_id, created_at) VALUES"
    " (-1001700000000001, 0, 1), (-1001700000000001, 7, 1), (5000000001, 0, 1),"
    " (-1001700000000001, 9, 1)",
    *(
        "INSERT INTO subscriptions (target_id, kind, value, created_at)"
        f" VALUES (1, 'topic', {literal(slug)}, 1)"
        for slug in TOPICS
    ),
    ADD_QUERIES,
    "UPDATE subscriptions SET value = 'solar energy' WHERE value = 'solar power'",
    "UPDATE subscriptions SET target_id = 2 WHERE kind = 'topic' AND value = 'Zeta'",
    "UPDATE subscriptions SET created_at = 5",
    "INSERT INTO subscriptions (target_id, kind, value, created_at)"
    " SELECT 3, kind, value, 9 FROM subscriptions WHERE target_id = 1 ORDER BY id",
    "DELETE FROM subscriptions WHERE target_id = 1 AND value LIKE 'tab%'",
    "UPDATE subscriptions SET kind = 'query' WHERE target_id = 1 AND value = 'migration'",
    "UPDATE subscriptions SET value = value || '!' WHERE target_id = 3",
    "DELETE FROM targets WHERE id = 2",
    "DELETE FROM chats WHERE chat_id = 5000000001",
]

COUNTED = [
    "INSERT INTO topics (slug, name_en, name_es) VALUES"
    " ('economy', 'E', 'E'), ('climate', 'C', 'C'), ('migration', 'M', 'M')",
    "INSERT INTO articles (source, title, language, published_at, fetched_at, content_hash) VALUES"
    " ('s', 'one', 'en', 1, 1, 'h1'), ('s', 'two', 'es', 2, 2, 'h2'),"
    " ('s', 'three', 'en', 3, 3, 'h3')",
    "INSERT INTO article_topics (article_id, topic) VALUES"
    " (1, 'economy'), (1, 'climate'), (2, 'economy'), (3, 'economy'), (3, 'migration')",
    "DELETE FROM article_topics WHERE article_id = 3 AND topic = 'economy'",
    "DELETE FROM articles WHERE id = 1",
    "UPDATE topics SET slug = 'environment' WHERE slug = 'climate'",
    "INSERT INTO article_topics (article_id, topic) VALUES (2, 'environment'), (3, 'environment')",
    "DELETE FROM topics WHERE slug = 'migration'",
]


async def test_the_triggers_leave_the_rows_sqlite_leaves(lite: Database, pg: Connection) -> None:
    async def both(statements: list[str], *reads: str) -> list[list[tuple[Any, ...]]]:
        """Each statement on both engines; what each read shows after it, the same on both."""
        seen = []
        for statement in statements:
            async with lite.transaction() as tx:
                await tx.execute(statement)
            pg.execute(statement)
            for read in reads:
                expected = await sqlite_rows(lite, read)
                assert pg_rows(pg, read) == expected, statement
                seen.append(expected)
        return seen

    keys = "SELECT id, subscription_key FROM targets ORDER BY id"
    computed = "SELECT target_id, subscription_key FROM target_subscription_keys ORDER BY target_id"
    seen = await both(KEYED, keys, computed)
    assert seen[-1] == seen[-2] == [(1, seen[-1][0][1]), (4, "[[],[]]")]
    # After the keywords: as SQLite writes it, which is also Python's most compact JSON.
    assert seen[2 * KEYED.index(ADD_QUERIES)][0] == (
        1,
        json.dumps(
            [sorted(TOPICS, key=str.encode), QUERIES], ensure_ascii=False, separators=(",", ":")
        ),
    )

    counts = await both(
        COUNTED,
        "SELECT slug, articles FROM topics ORDER BY slug",
        "SELECT article_id, topic FROM article_topics ORDER BY article_id, topic",
    )
    assert counts[-2] == [("economy", 1), ("environment", 2)]


def test_the_search_document_is_weighted_and_found_through_its_gin_index(pg: Connection) -> None:
    pg.execute(
        "INSERT INTO articles (source, title, language, published_at, fetched_at, content_hash)"
        " SELECT 's', 't' || g, 'en', g, g, 'h' || g FROM generate_series(1, 3000) AS g"
    )
    pg.execute(
        "INSERT INTO article_search (rowid, title_en, title_es, summary_en, summary_es, language)"
        " SELECT id, 'word' || id || ' migrat', 'palabra' || id || ' migr',"
        " 'summari' || id, NULL, '_en' FROM articles"
    )
    pg.execute("ANALYZE article_search")

    assert pg_rows(pg, "SELECT document::text FROM article_search WHERE rowid = 17") == [
        ("'migr':4B 'migrat':2A 'palabra17':3B 'summari17':5C 'word17':1A",)
    ]

    def found(query: str) -> list[int]:
        rows = pg_rows(
            pg,
            "SELECT rowid FROM article_search WHERE document @@ to_tsquery('simple', %s)"
            " ORDER BY rowid",
            (query,),
        )
        return [rowid for (rowid,) in rows]

    assert found("word17") == [17]
    assert found("summari17:AB") == []  # a title filter: FTS5's {title_en title_es}
    assert found("summari17:C") == [17]
    assert found("palabra17:AC") == []  # the English columns only: it is in title_es
    assert found("palabra17:BD") == [17]
    assert found("palabra100:*") == [100, *range(1000, 1010)]
    assert found("migrat <-> palabra17") == [17]  # across the seam of two titles: see the schema
    assert found("migrat:AC <-> palabra17:AC") == []  # one language's phrase never crosses it

    with pg.transaction():
        pg.execute("SET LOCAL enable_seqscan = off")
        plan = "\n".join(
            line
            for (line,) in pg_rows(
                pg,
                "EXPLAIN SELECT rowid FROM article_search"
                " WHERE document @@ to_tsquery('simple', 'x')",
            )
        )
    assert "article_search_document" in plan, plan

    pg.execute("DELETE FROM articles WHERE id = 17")
    assert found("word17") == []
