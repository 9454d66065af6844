"""Article ids commit in the order they are taken on PostgreSQL, where several
processes may store articles at once: a digest cursor past an id never misses an
earlier one that commits later."""

from __future__ import annotations

import asyncio
import itertools

import psycopg
import pytest

from bot.store import articles
from bot.store.articles import ARTICLE_IDS_LOCK, NewArticle
from bot.store.db import Database
from tests.postgres import Server

_numbers = itertools.count(1)
GUARD = 60.0
"""Seconds a wait may take before the test fails instead of hanging: a guard, not
a measurement."""


WAITING = "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted)"


def _article(n: int) -> NewArticle:
    return NewArticle(
        source="https://example.org/feed",
        guid=f"g{n}",
        url=f"https://example.org/{n}",
        title=f"article {n}",
        summary="",
        language="en",
        published_at=n,
        fetched_at=n,
        content_hash=f"h{n}",
        title_en=f"articl {n}",
        title_es=f"articl {n}",
        summary_en="",
        summary_es="",
        topics=(),
    )


@pytest.fixture
def url(postgres: Server, migrated_template: str) -> str:
    """A fresh store's URL, for connections of several processes."""
    name = f"article_inserts_{next(_numbers)}"
    postgres.psql(f"CREATE DATABASE {name} TEMPLATE {migrated_template}")
    return postgres.url(name)


async def test_a_store_of_articles_waits_for_the_one_before_it_to_commit(url: str) -> None:
    db = await Database.open(url)
    try:
        with psycopg.connect(url) as other:
            # Another process in the middle of storing an article: its id is taken.
            other.execute("SELECT pg_advisory_xact_lock(%s)", (ARTICLE_IDS_LOCK,))
            row = other.execute(
                "INSERT INTO articles (source, title, language, published_at, fetched_at,"
                " content_hash) VALUES ('other', 'first', 'en', 0, 0, 'h0') RETURNING id"
            ).fetchone()
            assert row is not None
            taken = row[0]

            storing = asyncio.create_task(articles.insert(db, [_article(1)]))
            async with asyncio.timeout(GUARD):
                while other.execute(WAITING).fetchone() != (True,):
                    assert not storing.done(), storing
                    await asyncio.sleep(0.01)
            assert not storing.done()
            other.commit()

        async with asyncio.timeout(GUARD):
            (stored,) = await storing
        assert stored > taken
        assert await articles.newest_id(db) == stored
    finally:
        await db.close()
