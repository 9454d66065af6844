"""The full-text index: after the prefix migration on SQLite, and searched on
either engine.

An archive indexed by the previous schema (a SQLite file: no other engine ever
held it) is upgraded: the index comes back with ready prefix lists and a
language column, every article in it once, and every query finds exactly what
it found before. On both engines a language or topics narrow a search to the
matches in them, and a rebuilt index finds what it found before. Reads made for
a person stop at their budget and leave the reader free (SQLite's progress
handler; PostgreSQL's statement_timeout is the server's own).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

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
from bot.store.fulltext import TextMatch
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


async def _store(
    db: Database, catalogue: Catalogue, prepared: list[articles.NewArticle]
) -> Database:
    """The sample stored as ingest stores it, on any engine."""
    await sync_catalogue(db, catalogue)
    await articles.insert(db, prepared)
    return db


@pytest.fixture
async def stored(
    db: Database, catalogue: Catalogue, prepared: list[articles.NewArticle]
) -> Database:
    return await _store(db, catalogue, prepared)


def _match(query: str) -> TextMatch:
    match = parse_query(query).text_match()
    assert match is not None, query
    return match


async def _found(db: Database, query: str, **filters: Any) -> list[int]:
    """The ids a search finds, all of them (the sample is smaller than the window)."""
    return [a.id for a in await articles.search(db, _match(query), limit=ARTICLES, **filters)]


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


async def test_a_language_keeps_the_matches_in_it(stored: Database) -> None:
    db = stored
    kept: set[tuple[str, str]] = set()
    for query in ("the", "de la que", "capi*", "neoliberalism", '"clase obrera"'):
        every = await articles.search(db, _match(query), limit=ARTICLES)
        for language in ("en", "es"):
            wanted = [a.id for a in every if a.language == language]
            assert await _found(db, query, language=language) == wanted, (query, language)
            if wanted:
                kept.add((query, language))
    assert {("capi*", "en"), ("capi*", "es"), ("the", "en"), ("de la que", "es")} <= kept


async def test_a_read_past_its_budget_stops_and_the_reader_is_free_at_once(
    sqlite_db: SQLiteDatabase, catalogue: Catalogue, prepared: list[articles.NewArticle]
) -> None:
    """Budget 0 and a look at every SQLite step: any read stops at its first
    step, deterministically; no clock is compared with anything."""
    db = sqlite_db
    await _store(db, catalogue, prepared)
    db.progress_steps = 1
    expression = _match("the of and to in")
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


async def test_topic_filters_keep_articles_in_every_topic_named(stored: Database) -> None:
    db = stored
    cases = [("the", ["marxism"]), ("capi*", ["government", "marxism"]), ("the", ["students"])]
    for query, topics in cases:
        every = await articles.search(db, _match(query), limit=ARTICLES)
        wanted = [a.id for a in every if set(topics) <= set(a.topics)]
        assert wanted, (query, topics)
        assert len(wanted) < len(every), (query, topics)
        assert await _found(db, query, topics=topics) == wanted, (query, topics)


async def test_a_rebuilt_index_finds_what_it_found(stored: Database) -> None:
    """The index emptied and marked for a rebuild, as the prefix migration left
    it on SQLite: batches put every article back, once, on either engine."""
    db = stored
    before = {query: await _found(db, query) for query in QUERIES}
    newest = await articles.newest_id(db)
    async with db.transaction() as tx:
        await tx.execute(
            "DELETE FROM article_search"
            if db.dialect == "postgresql"
            else "INSERT INTO article_search (article_search) VALUES ('delete-all')"
        )
        await tx.execute(
            "INSERT INTO search_reindex (id, done_id, upto_id) VALUES (1, 0, ?)", (newest,)
        )
    assert await _found(db, "the") == []
    assert await rebuild_index(db, batch=64)
    assert await articles.reindex_state(db) is None
    for query in QUERIES:
        assert before[query], f"{query!r} should match something in the sample"
        assert await _found(db, query) == before[query], query
