"""The full-text index after the prefix migration, on real SQLite files.

An archive indexed by the previous schema is upgraded: the index comes back
with ready prefix lists and a language column, every article in it once, and
every query finds exactly what it found before. Reads made for a person stop
at their budget and leave the reader free.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bench import corpus
from bench.search import reference_match
from bot.config import DATA_DIR
from bot.ingest.pipeline import prepare
from bot.runtime import sync_catalogue
from bot.search.query import QueryProblem, parse_query
from bot.search.reindex import rebuild_index
from bot.search.service import find
from bot.store import articles
from bot.store.db import Database, OverBudget, bundled_migrations
from bot.store.sqlite import SQLiteDatabase
from bot.text import index_columns
from bot.topics import Catalogue, load_catalogue

NOW = corpus.LAST_DAY + 86_400
ARTICLES = 400
# Frequent and rare words, pairs, phrases, exclusions and prefixes of 3 to 8
# letters; each is matched by the reference expression (each term's English
# stems in the English columns OR its Spanish stems in the Spanish ones).
QUERIES = (
    "the",
    "neoliberalism",
    "capitalismo",
    "the of and to in",
    "de la que",
    '"ciudad juárez"',
    '"clase obrera"',
    "neoliberalism -capitalism",
    "mex*",
    "capi*",
    "migra*",
    "revolu*",
    "capital* neolib*",
    "neoliberal*",
    "juárez",
)


def reference(query: str) -> str:
    """The reference expression; `-word` as NOT (the bench's reference has no exclusions)."""
    wanted = " ".join(word for word in query.split() if not word.startswith("-"))
    expression = reference_match(wanted)
    for word in query.split():
        if word.startswith("-"):
            expression = f"({expression}) NOT ({reference_match(word[1:])})"
    return expression


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return load_catalogue(DATA_DIR / "topics.toml")


@pytest.fixture(scope="module")
def prepared(catalogue: Catalogue) -> list[articles.NewArticle]:
    return [
        prepare(entry, source="test", catalogue=catalogue, now=NOW)
        for entry in corpus.entries(ARTICLES)
    ]


async def _schema_6(path: Path, catalogue: Catalogue, stored: list[articles.NewArticle]) -> None:
    """An archive as the schema before the prefix index stored it."""
    db = await Database.open(path, migrations=[m for m in bundled_migrations() if m.version <= 6])
    try:
        await sync_catalogue(db, catalogue)
        async with db.transaction() as tx:
            for a in stored:
                cursor = await tx.execute(
                    "INSERT INTO articles (source, guid, url, title, summary, language,"
                    " published_at, fetched_at, content_hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
                    " RETURNING id",
                    (
                        a.source,
                        a.guid,
                        a.url,
                        a.title,
                        a.summary,
                        a.language,
                        a.published_at,
                        a.fetched_at,
                        a.content_hash,
                    ),
                )
                row = await cursor.fetchone()
                assert row is not None
                await tx.execute(
                    "INSERT INTO article_search (rowid, title_en, title_es, summary_en, summary_es)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (row[0], a.title_en, a.title_es, a.summary_en, a.summary_es),
                )
                await tx.executemany(
                    "INSERT INTO article_topics (article_id, topic) VALUES (?, ?)",
                    [(row[0], slug) for slug in a.topics],
                )
    finally:
        await db.close()


async def _matches(db: Database, expression: str) -> list[int]:
    rows = await db.fetchall(
        "SELECT rowid FROM article_search WHERE article_search MATCH ? ORDER BY rowid",
        (expression,),
    )
    return [row[0] for row in rows]


@pytest.fixture
async def upgraded(
    tmp_path: Path, catalogue: Catalogue, prepared: list[articles.NewArticle]
) -> AsyncIterator[tuple[Database, dict[str, list[int]]]]:
    """An upgraded archive, and what each query matched before the upgrade."""
    path = tmp_path / "archive.sqlite3"
    await _schema_6(path, catalogue, prepared)
    old = await Database.open(path, migrations=[m for m in bundled_migrations() if m.version <= 6])
    try:
        before = {q: await _matches(old, reference(q)) for q in QUERIES}
    finally:
        await old.close()
    db = await Database.open(path)
    try:
        yield db, before
    finally:
        await db.close()


async def test_upgrade_rebuilds_the_index_with_prefixes_and_finds_the_same(
    upgraded: tuple[Database, dict[str, list[int]]],
) -> None:
    db, before = upgraded
    newest = await articles.newest_id(db)
    assert await articles.reindex_state(db) == (0, newest)
    assert await _matches(db, reference_match("the")) == []  # recreated empty

    assert await rebuild_index(db, batch=64)
    assert await articles.reindex_state(db) is None
    assert not await rebuild_index(db)

    sql = await db.fetchval("SELECT sql FROM sqlite_master WHERE name = 'article_search'")
    assert "prefix = '3 4 5 6'" in sql
    for query in QUERIES:
        assert before[query], f"{query!r} should match something in the sample"
        assert await _matches(db, reference(query)) == before[query], query
        assert await _matches(db, parse_query(query).fts() or "") == before[query], query
    everything = await _matches(db, '{language} : "_en" OR {language} : "_es"')
    assert len(everything) == len(set(everything)) == ARTICLES


async def test_an_interrupted_rebuild_resumes_without_indexing_twice(
    upgraded: tuple[Database, dict[str, list[int]]],
) -> None:
    db, before = upgraded
    state = await articles.reindex_batch(db, index_columns, limit=100)
    assert state is not None
    assert state[0] == (await db.fetchval("SELECT min(id) FROM articles")) + 99
    assert await articles.reindex_state(db) == state
    assert await rebuild_index(db, batch=64)
    everything = await _matches(db, '{language} : "_en" OR {language} : "_es"')
    assert len(everything) == len(set(everything)) == ARTICLES
    assert await _matches(db, reference_match("neoliberalism")) == before["neoliberalism"]


async def test_language_filter_is_part_of_the_match(
    upgraded: tuple[Database, dict[str, list[int]]],
) -> None:
    db, _ = upgraded
    await rebuild_index(db)
    for language in ("en", "es"):
        for query in ("the", "de la que", "capi*", "neoliberalism"):
            expression = parse_query(query).fts() or ""
            rows = await db.fetchall(
                "SELECT s.rowid FROM article_search AS s JOIN articles AS a ON a.id = s.rowid"
                " WHERE article_search MATCH ? AND a.language = ? ORDER BY s.rowid",
                (expression, language),
            )
            wanted = [row[0] for row in rows]
            filtered = await _matches(db, articles.language_filter(expression, language))
            assert filtered == wanted, (query, language)
    found = await articles.search(db, parse_query("capi*").fts(), language="es", limit=500)
    assert found
    assert {a.language for a in found} == {"es"}


async def test_a_read_past_its_budget_stops_and_the_reader_is_free_at_once(
    upgraded: tuple[Database, dict[str, list[int]]], catalogue: Catalogue
) -> None:
    """Budget 0 and a look at every SQLite step: any read stops at its first
    step, deterministically; no clock is compared with anything."""
    db, _ = upgraded
    assert isinstance(db, SQLiteDatabase)
    await rebuild_index(db)
    db.progress_steps = 1
    expression = parse_query("the of and to in").fts()
    with pytest.raises(OverBudget):
        await articles.search(db, expression, budget=0)
    assert await articles.search(db, expression)  # the next search runs
    result = await find(db, catalogue, "the of and to in", budget=0)
    assert result.problem is QueryProblem.TOO_BROAD
    assert result.hits == []
    assert (await find(db, catalogue, "the of and to in", budget=60)).hits

    # A read without a budget queued behind one with a spent budget is untouched.
    unbudgeted, budgeted = await asyncio.gather(
        db.fetchall("SELECT id FROM articles ORDER BY published_at"),
        articles.search(db, expression, budget=0),
        return_exceptions=True,
    )
    assert isinstance(unbudgeted, list)
    assert len(unbudgeted) == ARTICLES
    assert isinstance(budgeted, OverBudget)


async def test_topic_filters_keep_articles_in_every_topic_named(
    upgraded: tuple[Database, dict[str, list[int]]],
) -> None:
    db, _ = upgraded
    await rebuild_index(db)
    cases = [("the", ["marxism"]), ("capi*", ["government", "marxism"]), ("the", ["students"])]
    for query, topics in cases:
        expression = parse_query(query).fts() or ""
        rows = await db.fetchall(
            "SELECT s.rowid FROM article_search AS s WHERE article_search MATCH ?"
            " AND (SELECT count(*) FROM article_topics AS at WHERE at.article_id = s.rowid"
            "      AND at.topic IN (SELECT value FROM json_each(?))) = ?"
            " ORDER BY s.rowid DESC",
            (expression, json.dumps(topics), len(topics)),
        )
        wanted = [row[0] for row in rows]
        assert wanted, (query, topics)
        found = await articles.search(db, expression, topics=topics, limit=ARTICLES)
        assert sorted(a.id for a in found) == sorted(wanted), (query, topics)
